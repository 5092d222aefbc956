package ldapauth

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-ldap/ldap/v3"
)

// chase follows the continuation references refs of the search req, at
// most hops deep, on connections of their own bound as the service
// account, and returns the entries found there.
func (d *Directory) chase(ctx context.Context, req *ldap.SearchRequest, refs []string, hops int) ([]found, error) {
	if hops <= 0 {
		d.logger.LogAttrs(ctx, slog.LevelWarn, "ldapauth: referral hop limit reached", slog.Any("referrals", refs))
		return nil, nil
	}
	var out []found
	for _, ref := range refs {
		u, err := ParseURL(ref)
		if err != nil {
			d.logger.LogAttrs(ctx, slog.LevelWarn, "ldapauth: ignoring a referral", slog.String("referral", ref), slog.Any("err", err))
			continue
		}
		if u.Security == SecurityNone && d.url.Security == SecurityStartTLS {
			// Never send the service account's password in clear to a
			// referred server when the configured one is protected.
			u.Security = SecurityStartTLS
		}
		sub := *req
		if u.BaseDN != "" {
			sub.BaseDN = u.BaseDN
		}
		res, err := d.searchAt(ctx, u, &sub)
		if err != nil {
			return nil, fmt.Errorf("ldapauth: referral %s: %w", ref, err)
		}
		for _, e := range res.Entries {
			out = append(out, found{entry: e, at: u})
		}
		if len(res.Referrals) > 0 {
			more, err := d.chase(ctx, req, res.Referrals, hops-1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// searchAt runs req on a new connection to the servers of u, bound as the
// service account.
func (d *Directory) searchAt(ctx context.Context, u *URL, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	var res *ldap.SearchResult
	err := d.withConnTo(ctx, u, func(c *ldap.Conn) error {
		if d.cfg.BindDN != "" {
			if err := c.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
				return err
			}
		}
		var err error
		res, err = c.Search(req)
		return err
	})
	return res, err
}

// withConnTo runs fn on a new connection to the servers of u, closed
// afterwards. A connection failure wraps errUnavailable.
func (d *Directory) withConnTo(ctx context.Context, u *URL, fn func(c *ldap.Conn) error) error {
	dl := &dialer{url: u, tls: d.cfg.TLSConfig}
	c, err := dl.dial(ctx)
	if err != nil {
		return err
	}
	defer closeAsync(c)
	if err := setTimeout(ctx, c); err != nil {
		return fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
	}
	err = fn(c)
	if isConnError(err) {
		return fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
	}
	return err
}
