package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestStartKDC(t *testing.T) {
	k := StartKDC(t)
	k.AddUser(t, "alice", "pw with spaces")
	kt := k.AddService(t, "HTTP/localhost", "HTTP/other")
	klist := LookPath(t, "klist", "krb5-user")

	tests := []struct {
		name string
		args func(t *testing.T) []string
		want []string
	}{
		{
			name: "kinit gets a TGT",
			args: func(t *testing.T) []string { return []string{"-c", k.Kinit(t, "alice", "pw with spaces")} },
			want: []string{"alice@GOWSGI.TEST", "krbtgt/GOWSGI.TEST@GOWSGI.TEST"},
		},
		{
			name: "the keytab holds both services",
			args: func(t *testing.T) []string { return []string{"-k", kt} },
			want: []string{"HTTP/localhost@GOWSGI.TEST", "HTTP/other@GOWSGI.TEST"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(klist, tc.args(t)...)
			cmd.Env = append(os.Environ(), k.Env("")...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("klist: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("klist lacks %s:\n%s", w, out)
				}
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		kinit := LookPath(t, "kinit", "krb5-user")
		cmd := exec.Command(kinit, "alice")
		cmd.Env = append(os.Environ(), k.Env(k.Dir+"/cc-wrong")...)
		cmd.Stdin = strings.NewReader("nope\n")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("kinit with a wrong password succeeded:\n%s", out)
		}
	})
}
