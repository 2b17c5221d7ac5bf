package testissuer

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startDeviceIssuer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	k, err := GenerateKey("ec")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Key: k, AdminSecret: "adm1n", DeviceInterval: time.Second, Clients: []Client{
		{ID: "laptop"}, {ID: "conf", Secret: "s3", Scopes: []string{"offline_access", "compute.read"}}}}
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	srv.Issuer = ts.URL
	return srv, ts
}

// post sends a form and decodes the JSON answer.
func post(t *testing.T, ts *httptest.Server, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := ts.Client().PostForm(ts.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func startLogin(t *testing.T, ts *httptest.Server, form url.Values) (device, user string) {
	t.Helper()
	code, m := post(t, ts, "/device_authorization", form)
	if code != 200 || m["device_code"] == nil || m["interval"] != float64(1) ||
		m["verification_uri_complete"] != ts.URL+"/device?user_code="+m["user_code"].(string) {
		t.Fatalf("device authorization: %d %v", code, m)
	}
	return m["device_code"].(string), m["user_code"].(string)
}

func poll(t *testing.T, ts *httptest.Server, client, device string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {GrantDeviceCode}, "client_id": {client}, "device_code": {device}}
	if client == "conf" {
		form.Set("client_secret", "s3")
	}
	return post(t, ts, "/token", form)
}

// TestDeviceLoginApproveRefreshRevoke: discovery names the device endpoint;
// a public client's login is pending until approved through the admin
// endpoint, then gives an access token and a refresh token that works
// until it is revoked.
func TestDeviceLoginApproveRefreshRevoke(t *testing.T) {
	srv, ts := startDeviceIssuer(t)
	resp, _ := ts.Client().Get(ts.URL + "/.well-known/openid-configuration")
	var md map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if md["device_authorization_endpoint"] != ts.URL+"/device_authorization" || md["revocation_endpoint"] != ts.URL+"/revoke" {
		t.Fatalf("discovery: %v", md)
	}
	dev, user := startLogin(t, ts, url.Values{"client_id": {"laptop"}, "scope": {"offline_access compute.read"}, "audience": {"https://ce:443"}})
	if code, m := poll(t, ts, "laptop", dev); code != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("first poll: %d %v", code, m)
	}
	if err := SetDeviceStateAt(t.Context(), ts.Client(), ts.URL, "wrong", user, DeviceApproved); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("approval with a wrong admin secret: %v", err)
	}
	if err := SetDeviceStateAt(t.Context(), ts.Client(), ts.URL, "adm1n", user, DeviceApproved); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	code, m := poll(t, ts, "laptop", dev)
	rt, _ := m["refresh_token"].(string)
	if code != 200 || m["access_token"] == nil || rt == "" || m["scope"] != "compute.read" {
		t.Fatalf("approved poll: %d %v", code, m)
	}
	if code, m = poll(t, ts, "laptop", dev); code != 400 || m["error"] != "invalid_grant" {
		t.Errorf("a used device code: %d %v", code, m)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {"laptop"}, "refresh_token": {rt}, "audience": {"https://ce:443"}}
	if code, m = post(t, ts, "/token", refresh); code != 200 || m["access_token"] == nil {
		t.Fatalf("refresh: %d %v", code, m)
	}
	if code, _ = post(t, ts, "/revoke", url.Values{"client_id": {"laptop"}, "token": {rt}}); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code, m = post(t, ts, "/token", refresh); code != 400 || m["error"] != "invalid_grant" || !strings.Contains(m["error_description"].(string), "revoked") {
		t.Errorf("refresh after revocation: %d %v", code, m)
	}
	if srv.TokenRequests() != 5 {
		t.Errorf("token requests %d, want 5", srv.TokenRequests())
	}
}

// TestDeviceLoginOutcomes: denied, expired, a forced slow_down and a poll
// faster than the interval each give their RFC 8628 error; slow_down adds
// 5 s to the interval.
func TestDeviceLoginOutcomes(t *testing.T) {
	srv, ts := startDeviceIssuer(t)
	for state, want := range map[string]string{DeviceDenied: "access_denied", DeviceExpired: "expired_token", DeviceSlowDown: "slow_down"} {
		dev, user := startLogin(t, ts, url.Values{"client_id": {"conf"}, "client_secret": {"s3"}, "scope": {"compute.read"}})
		if ok, err := srv.SetDeviceState(user, state); !ok || err != nil {
			t.Fatalf("%s: %v %v", state, ok, err)
		}
		if code, m := poll(t, ts, "conf", dev); code != 400 || m["error"] != want {
			t.Errorf("%s: %d %v, want %s", state, code, m, want)
		}
	}
	dev, _ := startLogin(t, ts, url.Values{"client_id": {"laptop"}})
	poll(t, ts, "laptop", dev)
	if code, m := poll(t, ts, "laptop", dev); code != 400 || m["error"] != "slow_down" || !strings.Contains(m["error_description"].(string), "6s") {
		t.Errorf("a poll at once after another: %d %v, want slow_down to 6s", code, m)
	}
	if ok, err := srv.SetDeviceState("NOPE-NOPE", DeviceApproved); ok || err != nil {
		t.Errorf("an unknown user code: %v %v", ok, err)
	}
	if code, m := post(t, ts, "/device_authorization", url.Values{"client_id": {"conf"}, "client_secret": {"s3"}, "scope": {"storage.read:/"}}); code != 400 || m["error"] != "invalid_scope" {
		t.Errorf("a scope the client may not have: %d %v", code, m)
	}
}

// TestPublicClientNoClientCredentials: a client without a secret may log in
// with the device flow but not use client_credentials; without an admin
// secret there is no admin route.
func TestPublicClientNoClientCredentials(t *testing.T) {
	srv, ts := startDeviceIssuer(t)
	if code, m := post(t, ts, "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"laptop"}}); code != 401 {
		t.Errorf("client_credentials for a public client: %d %v", code, m)
	}
	srv.AdminSecret = ""
	ts2 := httptest.NewTLSServer(srv.Handler())
	defer ts2.Close()
	resp, err := ts2.Client().Post(ts2.URL+"/admin/device", "application/x-www-form-urlencoded", strings.NewReader("user_code=X&state=approved"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("admin route without an admin secret: %s", resp.Status)
	}
}
