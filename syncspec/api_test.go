package syncspec_test

import (
	"reflect"
	"testing"

	"github.com/lawcket/lawcket/syncspec"
)

func TestAPISection(t *testing.T) {
	spec, err := syncspec.Load("../testdata/spec/good/api.yaml", syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	api := spec.API
	if api == nil {
		t.Fatal("no API")
	}
	if api.Stage != "prod" || api.Selection != "$request.body.type" || api.Line != 10 || api.Column != 3 {
		t.Errorf("API = %+v", api)
	}
	want := []syncspec.Route{
		{Key: "send", Line: 13, Column: 5},
		{Key: "join", Function: "rooms", Line: 14, Column: 5},
		{Key: "leave", Function: "rooms", Line: 16, Column: 5},
	}
	if !reflect.DeepEqual(api.Routes, want) {
		t.Errorf("Routes = %+v, want %+v", api.Routes, want)
	}
	if got := api.RouteKeys(); !reflect.DeepEqual(got, []string{"send", "join", "leave"}) {
		t.Errorf("RouteKeys = %v", got)
	}
	wantAuth := &syncspec.Authorizer{Function: "auth", Identity: []string{"route.request.querystring.token", "route.request.header.Origin"}, Line: 17, Column: 3}
	if !reflect.DeepEqual(api.Authorizer, wantAuth) {
		t.Errorf("Authorizer = %+v, want %+v", api.Authorizer, wantAuth)
	}
	if api.Throttling == nil || *api.Throttling != (syncspec.Throttling{Rate: 100.5, Burst: 200}) {
		t.Errorf("Throttling = %+v", api.Throttling)
	}
}

func TestAPIOptional(t *testing.T) {
	for name, src := range map[string]string{
		"absent": "table: tbl\n",
		"null":   "table: tbl\napi:\n",
	} {
		spec, err := syncspec.Parse(name+".yaml", []byte(src), syncspec.WithLookupEnv(noEnv))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if spec.API != nil || spec.API.RouteKeys() != nil {
			t.Errorf("%s: API = %+v, want nil", name, spec.API)
		}
	}
	spec, err := syncspec.Parse("list.yaml", []byte("table: tbl\napi:\n  routes: [a, b]\n  authorizer: {arn: 'arn:aws:lambda:eu-west-1:123456789012:function:auth'}\n"), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.API.RouteKeys(); !reflect.DeepEqual(got, []string{"a", "b"}) || spec.API.Authorizer.ARN == "" || spec.API.Authorizer.Identity != nil {
		t.Errorf("API = %+v (routes %v)", spec.API, got)
	}
}
