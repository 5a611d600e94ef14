package devgw

import (
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
)

// A local gateway is attack surface: any page the developer opens can try
// to reach it (a WebSocket to ws://127.0.0.1:8080 needs no CORS), and a
// DNS-rebinding page can reach it under a foreign Host name. So:
//
//   - only Host names that are loopback (localhost, 127.0.0.0/8, ::1), the
//     host of Config.Addr, or (with an unspecified Addr such as 0.0.0.0) an
//     IP address of this machine are accepted: 403 otherwise;
//   - a request with an Origin header is accepted only from the gateway's
//     own origin (http://HOST where HOST is the request's Host) or one of
//     Config.AllowOrigins: 403 otherwise. Clients that are not browsers
//     send no Origin;
//   - the Management API wants a SigV4-shaped Authorization header (or
//     presigned query), as AWS does; any credentials are accepted. A
//     browser cannot send one cross-origin without a CORS preflight, which
//     the gateway does not answer;
//   - static files are served through an os.Root: nothing outside the
//     directory (no symlink escape), no dotfiles, no directory listings.

// hostPolicy decides which Host header values the gateway answers.
type hostPolicy struct {
	names  map[string]bool // lower-case host names and IP literals
	anyIP  bool            // an unspecified bind: any IP address of this machine
	ifaces func() []net.Addr
}

func newHostPolicy(addr string) *hostPolicy {
	p := &hostPolicy{names: map[string]bool{"localhost": true}, ifaces: interfaceAddrs}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() || host == "" {
			p.anyIP = true
		} else {
			p.names[strings.ToLower(strings.Trim(host, "[]"))] = true
		}
	}
	return p
}

func interfaceAddrs() []net.Addr {
	addrs, _ := net.InterfaceAddrs()
	return addrs
}

// allows reports whether a request's Host header is one the gateway answers.
func (p *hostPolicy) allows(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "" {
		return false
	}
	if p.names[host] || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if p.anyIP {
		for _, a := range p.ifaces() {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}

// originAllowed reports whether a request may come from its Origin: none
// (not a browser), the gateway's own origin, or one of allowed.
func originAllowed(r *http.Request, allowed map[string]bool) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" (sandboxed frames, file://) included
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	if norm == "http://"+strings.ToLower(r.Host) {
		return true
	}
	return allowed[norm]
}

// normalizeOrigins checks Config.AllowOrigins and returns them as a set of
// lower-case scheme://host[:port] strings.
func normalizeOrigins(origins []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, errors.New("devgw: allowed origin " + o + ": want scheme://host[:port], e.g. http://localhost:5173")
		}
		set[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return set, nil
}

// sigV4RE is the shape of a SigV4 Authorization header (the values are not
// checked: any credentials are accepted locally).
var sigV4RE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=[^/\s]+/\d{8}/[^/\s]+/[^/\s]+/aws4_request,\s*SignedHeaders=[a-z0-9;\-]+,\s*Signature=[0-9a-f]{64}$`)

// sigV4Signed reports whether r carries a SigV4-shaped signature: an
// Authorization header, or a presigned URL's X-Amz-Algorithm/-Signature.
func sigV4Signed(r *http.Request) bool {
	if sigV4RE.MatchString(r.Header.Get("Authorization")) {
		return true
	}
	q := r.URL.Query()
	return q.Get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256" && q.Get("X-Amz-Credential") != "" && q.Get("X-Amz-Signature") != ""
}

// staticFiles serves a directory through an os.Root: no file outside it (a
// symlink that leaves it is not followed), no name starting with a dot, no
// directory listings (a directory serves its index.html or 404).
type staticFiles struct{ root *os.Root }

func (s staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := path.Clean("/" + r.URL.Path)
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			http.NotFound(w, r)
			return
		}
	}
	rel := strings.TrimPrefix(name, "/")
	if rel == "" {
		rel = "."
	}
	f, st, err := s.open(rel)
	if err == nil && st.IsDir() {
		f.Close()
		f, st, err = s.open(path.Join(rel, "index.html"))
	}
	if err != nil || st.IsDir() || !st.Mode().IsRegular() {
		if f != nil {
			f.Close()
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}

func (s staticFiles) open(name string) (*os.File, fs.FileInfo, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}
