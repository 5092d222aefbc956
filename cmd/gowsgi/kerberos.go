package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/gowsgi/gowsgi/auth"
	"github.com/gowsgi/gowsgi/auth/kerberos"
)

// addKerberos builds the Negotiate authenticator k configures, if any,
// and hands its middleware to the schemes, where -auth-location, -require
// and -normalize-user apply to it as to the other schemes.
func (p *providers) addKerberos(k kerberosConfig, logger *slog.Logger) error {
	if k.Keytab == "" {
		if k.SPN != "" || k.Basic || k.BasicFirst || k.BasicRealm != "" || k.BasicCacheTTL != 0 || k.Krb5Conf != "" || k.DefaultRealm != "" || k.PAC || k.Session != 0 || k.SessionKeyFile != "" {
			return errors.New("-spn, the -kerberos-* flags and -krb5-conf need -keytab")
		}
		return nil
	}
	cfg := kerberos.Config{
		Keytab:        k.Keytab,
		SPN:           k.SPN,
		MaxClockSkew:  k.ClockSkew,
		DecodePAC:     k.PAC,
		Basic:         k.Basic,
		BasicRealm:    k.BasicRealm,
		BasicFirst:    k.BasicFirst,
		BasicCacheTTL: k.BasicCacheTTL,
		Krb5Conf:      k.Krb5Conf,
		DefaultRealm:  k.DefaultRealm,
		Logger:        logger,
	}
	norm, err := k.normalizer()
	if err != nil {
		return err
	}
	cfg.Normalize = norm
	if k.Session < 0 {
		return fmt.Errorf("-kerberos-session %v: want a positive duration", k.Session)
	}
	if k.Session > 0 {
		cfg.SessionLifetime = k.Session
		if k.SessionKeyFile != "" {
			key, err := os.ReadFile(k.SessionKeyFile)
			if err != nil {
				return fmt.Errorf("-kerberos-session-key-file: %w", err)
			}
			cfg.SessionKey = bytes.TrimSpace(key)
		} else {
			cfg.SessionKey = make([]byte, 32)
			if _, err := rand.Read(cfg.SessionKey); err != nil {
				return fmt.Errorf("-kerberos-session: %w", err)
			}
		}
	} else if k.SessionKeyFile != "" {
		return errors.New("-kerberos-session-key-file needs -kerberos-session")
	}
	a, err := kerberos.New(cfg)
	if err != nil {
		return err
	}
	p.authenticators = append(p.authenticators, a.Wrap)
	return nil
}

// normalizer turns -kerberos-name into a normalizer (nil for principal).
func (k kerberosConfig) normalizer() (auth.Normalizer, error) {
	form, arg, hasArg := strings.Cut(k.Name, "=")
	switch {
	case form == "principal" && !hasArg:
		return nil, nil
	case form == "local" && !hasArg:
		var realms []string
		if _, r, ok := strings.Cut(k.SPN, "@"); ok {
			realms = append(realms, r)
		}
		if k.DefaultRealm != "" {
			realms = append(realms, k.DefaultRealm)
		}
		if len(realms) == 0 {
			return nil, errors.New("-kerberos-name local needs the realm: give -spn with @REALM or -kerberos-default-realm")
		}
		return kerberos.LocalName(realms...), nil
	case form == "down-level":
		return kerberos.DownLevel(arg), nil
	default:
		return nil, fmt.Errorf("-kerberos-name %q: want principal, local, down-level or down-level=DOMAIN", k.Name)
	}
}
