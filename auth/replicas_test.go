package auth

import (
	"net/http/httptest"
	"testing"
)

// TestDigestReplicas runs three DigestAuth sharing a secret, as replicas
// behind a round-robin balancer: a nonce one issued works on all of them
// with the client's counts spread across them, each replica refuses a count
// it has seen, and a count seen only by another replica is accepted once
// (the replay window the package doc states).
func TestDigestReplicas(t *testing.T) {
	file := newDigestFile(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	var replicas []*DigestAuth
	for range 3 {
		d, err := NewDigest(DigestConfig{Realm: "trac", File: file, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, d)
	}
	other, err := NewDigest(DigestConfig{Realm: "trac", File: file})
	if err != nil {
		t.Fatal(err)
	}
	do := func(d *DigestAuth, authz string) int {
		r := httptest.NewRequest("GET", "/login", nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		d.Wrap(MustRequire(ValidUser())(whoami)).ServeHTTP(w, r)
		return w.Code
	}
	w := httptest.NewRecorder()
	replicas[0].Challenge(w.Header(), httptest.NewRequest("GET", "/login", nil))
	ch := challengeParams(t, w.Header())
	alice := digestClient{user: "alice", realm: "trac", pw: "pw", nonce: ch["nonce"], opaque: ch["opaque"]}

	// Round-robin: count n reaches replica n % 3, starting on the one
	// after the issuer.
	for nc := 1; nc <= 30; nc++ {
		if code := do(replicas[nc%3], alice.header("GET", "/login", nc, nil)); code != 200 {
			t.Fatalf("nc %d on replica %d: %d, want 200", nc, nc%3, code)
		}
	}
	// A count replayed to the replica that saw it is refused.
	if code := do(replicas[1], alice.header("GET", "/login", 1, nil)); code != 401 {
		t.Errorf("nc 1 replayed to the replica that saw it: %d, want 401", code)
	}
	// The window: replica 2 never saw count 1, so a captured request
	// replayed there is accepted, once.
	if code := do(replicas[2], alice.header("GET", "/login", 1, nil)); code != 200 {
		t.Errorf("nc 1 replayed to another replica: %d, want 200 (the documented window)", code)
	}
	if code := do(replicas[2], alice.header("GET", "/login", 1, nil)); code != 401 {
		t.Errorf("nc 1 replayed twice to another replica: %d, want 401", code)
	}
	// A replica with another secret refuses the nonce.
	if code := do(other, alice.header("GET", "/login", 31, nil)); code != 401 {
		t.Errorf("a replica with another secret: %d, want 401", code)
	}
}
