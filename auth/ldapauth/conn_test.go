package ldapauth

import (
	"context"
	"sync"
	"testing"
)

// TestPoolBoundedAndReused runs many concurrent logins through pools of two
// connections: no more than two are opened per pool (searches, user binds),
// and they are reused rather than dialled per login.
func TestPoolBoundedAndReused(t *testing.T) {
	s := startDirectory(t)
	const size, workers, logins = 2, 16, 10
	d := newDirectory(t, Config{
		URL:          s.URL + "/dc=example,dc=com?uid?sub?(objectClass=inetOrgPerson)",
		BindDN:       readerDN,
		BindPassword: readerPW,
		CacheTTL:     -1,
		PoolSize:     size,
	})
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < logins; j++ {
				if _, ok, err := d.CheckPassword(context.Background(), "alice", "alicepw"); err != nil || !ok {
					t.Errorf("login: %v, %v", ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := d.dialer.dials.Load(); n > 2*size || n < 2 {
		t.Errorf("%d connections opened for %d logins, want 2 to %d", n, workers*logins, 2*size)
	}
}
