package token

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHostileTokenAnswerIsRefused: a token endpoint (read by x/oauth2)
// whose answer holds a list of 100,000 empty objects is refused under
// IssuerLimits, with the endpoint and the limit named.
func TestHostileTokenAnswerIsRefused(t *testing.T) {
	hostile := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"abc","token_type":"bearer","expires_in":3600,"x":[`+strings.Repeat(`{},`, 100_000)+`{}]}`)
	}))
	defer hostile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc := ClientCredentials{TokenURL: hostile.URL + "/token", ClientID: "c1", ClientSecret: "s1", HTTPClient: hostile.Client()}
	_, err := cc.Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), hostile.URL+"/token: the token answer has more than 2000 entries in one list (limit): refused") {
		t.Fatalf("a token answer of 100,000 objects: %v", err)
	}
}

// TestHostileAgentReplyIsRefused: an oidc-agent reply with 100,000 strings
// in its info is refused under the same limits, naming the socket.
func TestHostileAgentReplyIsRefused(t *testing.T) {
	sock, _ := fakeAgentFault(t, func(_ map[string]any, c net.Conn) {
		_, _ = io.WriteString(c, `{"status":"success","access_token":"abc","info":[`+strings.Repeat(`"",`, 100_000)+`""]}`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := (&AgentClient{Socket: sock}).LoadedAccounts(ctx)
	if err == nil || !strings.Contains(err.Error(), "oidc-agent at "+sock+": the reply has more than 2000 entries in one list (limit): refused") {
		t.Fatalf("an agent reply of 100,000 strings: %v", err)
	}
}
