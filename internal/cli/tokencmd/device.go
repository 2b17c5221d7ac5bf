package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/token"
)

// deviceLogin builds the device login the options describe: the scopes
// (--scope, else the job commands' token scopes) with offline_access, for
// a refresh token.
func (o *GetOptions) deviceLogin(scopeGiven bool) (*token.DeviceLogin, string, error) {
	f := o.F
	issuer, id := config.Get(f.Config, config.Issuer), config.Get(f.Config, config.ClientID)
	if issuer == "" || id == "" {
		return nil, "", cmdutil.UsageError(errors.New("--device needs --issuer and --client-id"))
	}
	scopes := splitList(o.Scopes)
	if !scopeGiven {
		scopes = config.Get(f.Config, config.TokenScope)
	}
	if !slices.Contains(scopes, "offline_access") {
		scopes = append(slices.Clone(scopes), "offline_access")
	}
	secretFile := config.Get(f.Config, config.ClientSecretFile)
	if secretFile != "" {
		abs, err := filepath.Abs(secretFile) // kept by reference: renewals run from anywhere
		if err != nil {
			return nil, "", fmt.Errorf("client secret: %w", err)
		}
		secretFile = abs
	}
	secret, err := token.ReadSecretFile(secretFile)
	if err != nil {
		return nil, "", err
	}
	f.AddClientSecret(id, secret)
	hc, err := f.HTTPClient()
	if err != nil {
		return nil, "", err
	}
	return &token.DeviceLogin{Issuer: issuer, ClientID: id, ClientSecret: secret, Scopes: scopes,
		Audiences: splitList(o.Audiences), HTTPClient: hc}, secretFile, nil
}

// deviceRun is `token get --device`: the login, then the token written
// where discovery finds it and the refresh token stored.
func deviceRun(ctx context.Context, opts *GetOptions, scopeGiven bool) error {
	f := opts.F
	d, secretFile, err := opts.deviceLogin(scopeGiven)
	if err != nil {
		return err
	}
	store, err := token.NewLoginStore(f.Env)
	if err != nil {
		return err
	}
	d.Prompt = func(p token.DevicePrompt) { prompt(f, p) }
	d.Notice = func(s string) { fmt.Fprintln(f.IO.ErrOut, s) }
	l, err := d.Run(ctx) // no overall --timeout: the user takes their time; each request has it
	if err != nil {
		return err
	}
	f.AddSecret(l.Issued.Token.Reveal())
	f.AddSecret(l.Refresh.Reveal())
	path := writePath(opts)
	if err := token.WriteFile(path, l.Issued.Token); err != nil {
		return err
	}
	st := &token.LoginState{Issuer: d.Issuer, TokenURL: l.TokenURL, ClientID: d.ClientID, ClientSecretFile: secretFile,
		Scopes: d.Scopes, Audiences: d.Audiences}
	st.SetToken(path, l.Issued.Token)
	if err := store.Save(st, l.Refresh); err != nil {
		return err
	}
	out := GetJSON{Schema: "cesub.token.get/v1", Source: l.Issued.Source, Path: path}
	if l.Refresh != "" {
		out.RefreshFile = filepath.Join(store.Dir, token.RefreshTokenFile)
	} else {
		f.Warnf("the issuer gave no refresh token (is offline_access allowed for client %s?): the token cannot be renewed; log in again when it expires", d.ClientID)
	}
	return printWritten(f, out, l.Issued)
}

// prompt tells the user where to log in.
func prompt(f *cmdutil.Factory, p token.DevicePrompt) {
	w := f.IO.ErrOut
	fmt.Fprintf(w, "To log in, open %s and enter the code %s\n", p.VerificationURI, p.UserCode)
	if p.VerificationURIComplete != "" {
		fmt.Fprintf(w, "(or open %s)\n", p.VerificationURIComplete)
	}
	if !p.Expiry.IsZero() {
		fmt.Fprintf(w, "The code expires at %s.\n", p.Expiry.Local().Format("15:04:05"))
	}
	if f.IO.ErrTTY {
		fmt.Fprintln(w, "Waiting for the login to be approved (Ctrl-C to stop)...")
	}
}

// refreshRun is `token get --refresh`.
func refreshRun(ctx context.Context, opts *GetOptions) error {
	f := opts.F
	store, err := token.NewLoginStore(f.Env)
	if err != nil {
		return err
	}
	hc, err := f.HTTPClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, config.Get(f.Config, config.Timeout))
	defer cancel()
	r := &token.LoginRefresher{Store: store, Env: f.Env, HTTPClient: hc, OnRefresh: func(is *token.Issued) { f.AddSecret(is.Token.Reveal()) }}
	is, path, err := r.Refresh(ctx)
	if err != nil {
		return err
	}
	return printWritten(f, GetJSON{Schema: "cesub.token.get/v1", Source: is.Source, Path: path}, is)
}

func writePath(opts *GetOptions) string {
	if opts.WritePath != "" {
		return opts.WritePath
	}
	return token.WritePath(opts.F.Env)
}

// printWritten reports a token written to out.Path (never the token).
func printWritten(f *cmdutil.Factory, out GetJSON, is *token.Issued) error {
	if !is.Expiry.IsZero() {
		e := is.Expiry
		out.Expires = &e
	}
	if f.JSON() {
		return f.PrintJSON(out)
	}
	fmt.Fprintf(f.IO.ErrOut, "token from %s written to %s", out.Source, out.Path)
	if out.Expires != nil {
		fmt.Fprintf(f.IO.ErrOut, " (valid until %s)", out.Expires.Local().Format(time.RFC3339))
	}
	fmt.Fprintln(f.IO.ErrOut)
	if out.RefreshFile != "" {
		fmt.Fprintf(f.IO.ErrOut, "refresh token stored in %s: cesub renews the token when it runs low (`cesub token get --refresh` renews it now)\n", out.RefreshFile)
	}
	return nil
}
