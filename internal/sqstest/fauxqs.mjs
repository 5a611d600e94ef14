// Starts fauxqs, an SQS-compatible server speaking the AWS JSON protocol,
// on loopback and a free port, for package sqstest (embedded there and run
// with `node --input-type=module -e`). argv[1] is the absolute path of
// fauxqs's dist/app.js (found by sqstest in the module's node_modules).
//
// It prints "fauxqs listening at http://127.0.0.1:PORT" once it listens,
// and exits when its stdin closes (the test process ended, however it
// ended) or on SIGTERM/SIGINT.
import { pathToFileURL } from "node:url";

const entry = process.argv[1];
if (!entry) {
  console.error("fauxqs.mjs: no path of fauxqs's dist/app.js given");
  process.exit(2);
}
const { buildApp } = await import(pathToFileURL(entry).href);
const app = buildApp({ logger: false });
const addr = await app.listen({ port: 0, host: "127.0.0.1" });
console.log("fauxqs listening at " + addr);

let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  try {
    await app.close();
  } finally {
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
