package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/kerberos"
)

// kerberosFlags are the flags of the Kerberos provider layer, which hands a
// Negotiate middleware to the auth layer (auth.go); -auth-location,
// -require and -normalize-user apply to it as to the other schemes.
type kerberosFlags struct {
	keytab       string
	spn          string
	basic        bool
	basicFirst   bool
	basicRealm   string
	basicCache   time.Duration
	krb5Conf     string
	defaultRealm string
	skew         time.Duration
	pac          bool
	name         string
	session      time.Duration
	sessionKey   string
}

func (f *kerberosFlags) register(fs *flag.FlagSet) {
	*f = kerberosFlags{} // flags are registered anew for each FlagSet (tests)
	fs.StringVar(&f.keytab, "keytab", "", "Kerberos service keytab `file`: turns on Negotiate (SPNEGO) single sign-on (GssapiCredStore keytab:, Krb5Keytab)")
	fs.StringVar(&f.spn, "spn", "", "service `principal` to accept tickets for, e.g. HTTP/trac.example.com@EXAMPLE.COM (GssapiAcceptorName); default: any principal in the keytab")
	fs.BoolVar(&f.basic, "kerberos-basic", false, "also offer Basic and check the password against the KDC (SSPIOfferBasic, GssapiBasicAuth, KrbMethodK5Passwd)")
	fs.BoolVar(&f.basicFirst, "kerberos-basic-first", false, "offer Basic before Negotiate (SSPIBasicPreferred)")
	fs.StringVar(&f.basicRealm, "kerberos-basic-realm", "", "`realm` of the Basic challenge (AuthName); default: Kerberos")
	fs.DurationVar(&f.basicCache, "kerberos-basic-cache-ttl", 0, "how long a Basic password the KDC accepted is remembered (a keyed hash, as -auth-cache-ttl for htpasswd): a cached login makes no KDC request; 0 means 5m, negative disables the cache")
	fs.StringVar(&f.krb5Conf, "krb5-conf", "", "krb5.conf `file` the Basic fallback finds the KDC with; default: $KRB5_CONFIG or /etc/krb5.conf")
	fs.StringVar(&f.defaultRealm, "kerberos-default-realm", "", "`realm` of Basic user names typed without one; default: the -spn realm or krb5.conf's default_realm")
	fs.DurationVar(&f.skew, "kerberos-clock-skew", 0, "tolerated clock `skew` between clients, the KDC and us; 0 means 5m")
	fs.BoolVar(&f.pac, "kerberos-pac", false, "verify and decode the Active Directory PAC of tickets (leave off for MIT realms)")
	fs.StringVar(&f.name, "kerberos-name", "principal", "REMOTE_USER `form`: principal (alice@REALM), local (alice for the -spn/default realm, others keep @REALM; SSPIOmitDomain), down-level (REALM\\alice) or down-level=DOMAIN (DOMAIN\\alice, as mod_auth_sspi)")
	fs.DurationVar(&f.session, "kerberos-session", 0, "remember a login in a signed HttpOnly cookie for this `duration` (GssapiUseSessions); 0 disables")
	fs.StringVar(&f.sessionKey, "kerberos-session-key-file", "", "`file` holding the secret (at least 32 bytes) that signs session cookies, shared by replicas; default: random per process")
}

func init() {
	var f kerberosFlags
	register(layer{
		name:  "kerberos",
		order: orderProvider,
		flags: f.register,
		build: f.build,
	})
}

// build makes the Negotiate middleware and hands it to the auth layer. The
// layer has no middleware of its own.
func (f *kerberosFlags) build(b *builder) (func(http.Handler) http.Handler, error) {
	if f.keytab == "" {
		if f.spn != "" || f.basic || f.basicFirst || f.basicRealm != "" || f.basicCache != 0 || f.krb5Conf != "" || f.defaultRealm != "" || f.pac || f.session != 0 || f.sessionKey != "" {
			return nil, errors.New("-spn, the -kerberos-* flags and -krb5-conf need -keytab")
		}
		return nil, nil
	}
	cfg := kerberos.Config{
		Keytab:        f.keytab,
		SPN:           f.spn,
		MaxClockSkew:  f.skew,
		DecodePAC:     f.pac,
		Basic:         f.basic,
		BasicRealm:    f.basicRealm,
		BasicFirst:    f.basicFirst,
		BasicCacheTTL: f.basicCache,
		Krb5Conf:      f.krb5Conf,
		DefaultRealm:  f.defaultRealm,
		Logger:        b.logger,
	}
	norm, err := f.normalizer()
	if err != nil {
		return nil, err
	}
	cfg.Normalize = norm
	if f.session < 0 {
		return nil, fmt.Errorf("-kerberos-session %v: want a positive duration", f.session)
	}
	if f.session > 0 {
		cfg.SessionLifetime = f.session
		if f.sessionKey != "" {
			k, err := os.ReadFile(f.sessionKey)
			if err != nil {
				return nil, fmt.Errorf("-kerberos-session-key-file: %w", err)
			}
			cfg.SessionKey = bytes.TrimSpace(k)
		} else {
			cfg.SessionKey = make([]byte, 32)
			if _, err := rand.Read(cfg.SessionKey); err != nil {
				return nil, fmt.Errorf("-kerberos-session: %w", err)
			}
		}
	} else if f.sessionKey != "" {
		return nil, errors.New("-kerberos-session-key-file needs -kerberos-session")
	}
	a, err := kerberos.New(cfg)
	if err != nil {
		return nil, err
	}
	b.authenticators = append(b.authenticators, a.Middleware)
	return nil, nil
}

// normalizer turns -kerberos-name into a normalizer (nil for principal).
func (f *kerberosFlags) normalizer() (auth.Normalizer, error) {
	form, arg, hasArg := strings.Cut(f.name, "=")
	switch {
	case form == "principal" && !hasArg:
		return nil, nil
	case form == "local" && !hasArg:
		var realms []string
		if _, r, ok := strings.Cut(f.spn, "@"); ok {
			realms = append(realms, r)
		}
		if f.defaultRealm != "" {
			realms = append(realms, f.defaultRealm)
		}
		if len(realms) == 0 {
			return nil, errors.New("-kerberos-name local needs the realm: give -spn with @REALM or -kerberos-default-realm")
		}
		return kerberos.LocalName(realms...), nil
	case form == "down-level":
		return kerberos.DownLevel(arg), nil
	default:
		return nil, fmt.Errorf("-kerberos-name %q: want principal, local, down-level or down-level=DOMAIN", f.name)
	}
}
