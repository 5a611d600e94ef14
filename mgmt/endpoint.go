package mgmt

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// EnvEndpoint is the environment variable that gives the endpoint template
// when no WithEndpoint option does (see Endpoint).
const EnvEndpoint = "LAWCKET_MANAGEMENT_ENDPOINT"

// DefaultEndpoint is the endpoint template used when neither WithEndpoint
// nor LAWCKET_MANAGEMENT_ENDPOINT gives one.
const DefaultEndpoint = "https://{domainName}/{stage}"

// Target is where a request goes: a connection and the API/stage it belongs
// to. APIID is needed only when the endpoint template contains {apiId}.
type Target struct {
	ConnectionID string
	DomainName   string
	Stage        string
	APIID        string
}

// Endpoint returns the Management API endpoint of t: template (or
// $LAWCKET_MANAGEMENT_ENDPOINT when template is empty, else
// DefaultEndpoint) with its {domainName}, {stage} and {apiId} placeholders
// filled from t. The endpoint includes the stage path, as in
// https://abc123.execute-api.eu-west-1.amazonaws.com/prod or
// http://127.0.0.1:8080/local; a template without placeholders is used as it
// is. A trailing slash is removed.
//
// Behind a custom domain, DomainName is the custom one, which may not reach
// the Management API: use
// "https://{apiId}.execute-api.REGION.amazonaws.com/{stage}".
func Endpoint(template string, t Target) string {
	tmpl, _ := endpointTemplate(template)
	return fill(tmpl, t)
}

func fill(tmpl string, t Target) string {
	r := strings.NewReplacer("{domainName}", t.DomainName, "{stage}", t.Stage, "{apiId}", t.APIID)
	return strings.TrimSuffix(r.Replace(tmpl), "/")
}

// CheckEndpoint reports whether a endpoint template is an http(s) URL with
// a host and no query or fragment (placeholders allowed).
func CheckEndpoint(template string) error {
	u, err := url.Parse(placeholders.Replace(template))
	if err != nil {
		return fmt.Errorf("management endpoint %q: %w", template, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("management endpoint %q: want http(s)://host[/path], e.g. https://{domainName}/{stage}", template)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("management endpoint %q: must not have a query or fragment", template)
	}
	return nil
}

var placeholders = strings.NewReplacer("{domainName}", "x.example", "{stage}", "stage", "{apiId}", "api")

// endpointTemplate is the endpoint template in force and where it comes
// from: override, else $LAWCKET_MANAGEMENT_ENDPOINT, else the default.
func endpointTemplate(override string) (tmpl, source string) {
	tmpl, source = override, "WithEndpoint"
	if tmpl == "" {
		tmpl, source = os.Getenv(EnvEndpoint), EnvEndpoint
	}
	if tmpl == "" {
		tmpl, source = DefaultEndpoint, "default"
	}
	return tmpl, source
}

// resolveEndpoint fills tmpl for t, refusing an endpoint with an empty part.
func resolveEndpoint(tmpl, source string, t Target) (string, error) {
	for _, ph := range []struct{ name, value string }{{"{domainName}", t.DomainName}, {"{stage}", t.Stage}, {"{apiId}", t.APIID}} {
		if ph.value == "" && strings.Contains(tmpl, ph.name) {
			return "", fmt.Errorf("management endpoint %q (%s) needs %s but the target has none", tmpl, source, ph.name)
		}
	}
	endpoint := fill(tmpl, t)
	if err := CheckEndpoint(endpoint); err != nil {
		return "", fmt.Errorf("%w (%s)", err, source)
	}
	return endpoint, nil
}

var executeAPIHost = regexp.MustCompile(`\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// regionOf returns the region in an execute-api host name, or "".
func regionOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	if m := executeAPIHost.FindStringSubmatch(u.Hostname()); m != nil {
		return m[1]
	}
	return ""
}
