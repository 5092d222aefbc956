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
func (d *Directory) chase(ctx context.Context, req *ldap.SearchRequest, refs []string, hops int) ([]*ldap.Entry, error) {
	if hops <= 0 {
		d.logger.LogAttrs(ctx, slog.LevelWarn, "ldapauth: referral hop limit reached", slog.Any("referrals", refs))
		return nil, nil
	}
	var out []*ldap.Entry
	for _, ref := range refs {
		u, err := ParseURL(ref)
		if err != nil {
			d.logger.LogAttrs(ctx, slog.LevelWarn, "ldapauth: ignoring a referral", slog.String("referral", ref), slog.Any("err", err))
			continue
		}
		sub := *req
		if u.BaseDN != "" {
			sub.BaseDN = u.BaseDN
		}
		res, err := d.searchAt(ctx, u, &sub)
		if err != nil {
			return nil, fmt.Errorf("ldapauth: referral %s: %w", ref, err)
		}
		out = append(out, res.Entries...)
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

// searchAt runs req on a new connection to the servers of u.
func (d *Directory) searchAt(ctx context.Context, u *URL, req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	dl := &dialer{url: u, tls: d.cfg.TLSConfig}
	c, err := dl.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer closeAsync(c)
	if err := setTimeout(ctx, c); err != nil {
		return nil, fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
	}
	if d.cfg.BindDN != "" {
		if err := c.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			if isConnError(err) {
				return nil, fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
			}
			return nil, err
		}
	}
	res, err := c.Search(req)
	if isConnError(err) {
		return nil, fmt.Errorf("ldapauth: %w: %w", errUnavailable, err)
	}
	return res, err
}
