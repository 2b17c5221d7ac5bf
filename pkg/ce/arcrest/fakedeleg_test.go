package arcrest

// The delegations of the FAKE A-REX REST service (fakerest_test.go).

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/cesub/cesub/pkg/ce/cetest"
)

func (f *fakeREST) serveDelegations(w http.ResponseWriter, r *http.Request, id, version string) {
	action := r.URL.Query().Get("action")
	switch {
	case id == "" && r.Method == http.MethodGet:
		f.listDelegations(w)
	case id == "" && action == "new" && r.URL.Query().Get("type") == "jwt":
		f.newTokenDelegation(w, r, version)
	case id == "" && action == "new":
		f.newDelegation(w, r, version)
	case f.delegations[id] == nil:
		http.Error(w, "Delegation not found", http.StatusNotFound)
	case action == "renew":
		f.handOutCSR(w, r, id, http.StatusOK)
	case r.Method == http.MethodPut:
		f.putDelegation(w, r, id)
	case action == "get":
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(f.delegations[id].chain)
	case action == "delete":
		f.deleteDelegation(w, id)
	default:
		http.Error(w, "not served by the fake", http.StatusNotImplemented)
	}
}

// newDelegation starts an X.509 delegation. A-REX 6.17 (REST 1.0) writes
// the Location of an origin-form request as …/delegations?action=new/<id>.
func (f *fakeREST) newDelegation(w http.ResponseWriter, r *http.Request, version string) {
	f.next++
	id := fmt.Sprintf("fakedeleg%d", f.next)
	loc := f.base + "/rest/" + version + "/delegations/" + id
	if version == "1.0" {
		loc = "/arex/rest/1.0/delegations?action=new/" + id
	}
	w.Header().Set("Location", loc)
	f.delegations[id] = &fakeDeleg{typ: "x509"}
	f.handOutCSR(w, r, id, http.StatusCreated)
}

// handOutCSR makes a new key for delegation id and answers its request.
func (f *fakeREST) handOutCSR(w http.ResponseWriter, r *http.Request, id string, code int) {
	if r.Header.Get("Accept") != "application/x-pem-file" {
		f.t.Errorf("delegation request asks for %q, not a PEM file", r.Header.Get("Accept"))
	}
	key, csr := cetest.NewCSR(f.t)
	f.delegations[id].key = key
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.WriteHeader(code)
	_, _ = w.Write(csr)
}

// putDelegation stores the chain once it is a proxy for the request's key
// signed by a user of the CA.
func (f *fakeREST) putDelegation(w http.ResponseWriter, r *http.Request, id string) {
	d := f.delegations[id]
	chain, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") != "application/x-pem-file" || d.key == nil {
		http.Error(w, "Wrong content type or no request", http.StatusBadRequest)
		return
	}
	if _, err := f.ca.CheckDelegated(chain, d.key.Public()); err != nil {
		f.putErrors = append(f.putErrors, err)
		http.Error(w, "Failed to accept delegation", http.StatusInternalServerError)
		return
	}
	d.chain = chain
	w.WriteHeader(http.StatusOK)
}

// newTokenDelegation stores the X-Token-Delegation header (REST 1.1).
func (f *fakeREST) newTokenDelegation(w http.ResponseWriter, r *http.Request, version string) {
	tok := r.Header.Get("X-Token-Delegation")
	if version != "1.1" || tok == "" {
		http.Error(w, "Token delegation not supported", http.StatusBadRequest)
		return
	}
	f.next++
	id := fmt.Sprintf("fakejwt%d", f.next)
	f.delegations[id] = &fakeDeleg{typ: "jwt", chain: []byte(tok)}
	w.Header().Set("Location", f.base+"/rest/1.1/delegations/"+id)
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeREST) listDelegations(w http.ResponseWriter) {
	var ids []string
	for id := range f.delegations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []map[string]string
	for _, id := range ids {
		out = append(out, map[string]string{"id": id, "type": f.delegations[id].typ})
	}
	if len(out) == 1 {
		writeJSON(w, http.StatusOK, map[string]any{"delegation": out[0]}) // one element is an object
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"delegation": out})
}

// deleteDelegation refuses while a job uses the delegation, as A-REX does.
func (f *fakeREST) deleteDelegation(w http.ResponseWriter, id string) {
	for _, j := range f.jobs {
		if strings.EqualFold(j.delegation, id) {
			http.Error(w, "Delegation is in use", http.StatusConflict)
			return
		}
	}
	delete(f.delegations, id)
	w.WriteHeader(http.StatusAccepted)
}
