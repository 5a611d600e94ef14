// Command initerror is a custom runtime whose init fails: it reports the
// failure on the Runtime API (POST /runtime/init/error), as the Lambda
// runtime interface clients of other languages do, then exits.
package main

import (
	"log"
	"net/http"
	"os"
	"strings"
)

func main() {
	url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
	body := `{"errorMessage":"cannot read the room table","errorType":"Runtime.InitError"}`
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		log.Fatalf("init/error answered %s", resp.Status)
	}
	os.Exit(1)
}
