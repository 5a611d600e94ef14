package lambdarun

import "testing"

func TestErrorType(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"error document", `{"errorMessage":"bad.yaml:2:6: ttl","errorType":"lawcket.InitError"}`, "lawcket.InitError"},
		{"response", `{"statusCode":200,"body":"{\"errorType\":\"x\"}"}`, ""},
		{"not JSON", `errorType: x`, ""},
		{"empty", ``, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorType([]byte(tt.body)); got != tt.want {
				t.Errorf("errorType(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}
