package jobstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// libpqKeys are the keywords that make a string a libpq keyword/value
// connection string ("host=db dbname=cesub") rather than a file name.
var libpqKeys = []string{"host", "hostaddr", "port", "dbname", "user", "service", "sslmode", "passfile"}

// IsPostgres reports whether a job list name is a PostgreSQL server: a
// postgres:// or postgresql:// URL, or a libpq keyword/value string.
func IsPostgres(name string) bool {
	if strings.HasPrefix(name, "postgres://") || strings.HasPrefix(name, "postgresql://") {
		return true
	}
	first, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	key, _, ok := strings.Cut(first, "=")
	if !ok {
		return false
	}
	for _, k := range libpqKeys {
		if key == k {
			return true
		}
	}
	return false
}

// Redact names a PostgreSQL job list without its password (as
// postgres://user@host:port/db); other names are returned as they are.
func Redact(name string) string {
	if !IsPostgres(name) {
		return name
	}
	cfg, err := pgconn.ParseConfig(name)
	if err != nil {
		return "postgres://(unparsable connection string)"
	}
	return describe(cfg)
}

// Password is the password a PostgreSQL job list name leads to (from the
// URL, PGPASSWORD or the pgpass file; "" for none or a file), so that the
// caller can keep it out of everything it prints.
func Password(name string) string {
	if !IsPostgres(name) {
		return ""
	}
	cfg, err := pgconn.ParseConfig(name)
	if err != nil {
		return ""
	}
	return cfg.Password
}

func describe(cfg *pgconn.Config) string {
	return "postgres://" + cfg.User + "@" + net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))) + "/" + cfg.Database
}

// openPostgres opens a job list on a PostgreSQL server through pgx's
// database/sql driver: every Store method is the same code on both engines.
// The connection settings are libpq's (URL or keywords, PGPASSWORD,
// PGPASSFILE or ~/.pgpass, sslmode and sslrootcert), parsed by pgx.
func openPostgres(ctx context.Context, conn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		// pgx's message can quote the string, password and all
		return nil, fmt.Errorf("job list %s: cannot read the connection string", Redact(conn))
	}
	name := describe(&cfg.Config)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db, d: postgresDialect, path: name}
	if err := s.connect(ctx); err != nil {
		db.Close()
		return nil, ConnError(name, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		var se *SchemaError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, ConnError(name, err)
	}
	return s, nil
}

// connect reaches the server, waiting up to 15 s while it cannot be
// reached or is starting or stopping (a restart).
func (s *Store) connect(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := s.db.PingContext(ctx)
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// transient: the server is not there now (refused, restarting), and
// asking again in a moment may work.
func transient(err error) bool {
	var ve *tls.CertificateVerificationError
	var ae tls.AlertError
	if errors.As(err, &ve) || errors.As(err, &ae) {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now
		return strings.HasPrefix(pe.Code, "57P") || pe.Code == "08006"
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// ConnError is a PostgreSQL job list's connection failure as one line that
// names the server: what went wrong (TLS, password, database) rather than
// pgx's chain; the password is never in it.
func ConnError(name string, err error) error {
	return fmt.Errorf("job list %s: %s", name, connReason(err))
}

func connReason(err error) string {
	var pe *pgconn.PgError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	var oe *net.OpError
	switch {
	case errors.As(err, &ua), errors.As(err, &ve) && errors.As(ve.Err, &ua):
		return "the server's TLS certificate is not signed by a trusted CA (give the CA with sslrootcert=FILE)"
	case errors.As(err, &he):
		return "the server's TLS certificate is not for this host name: " + he.Error()
	case errors.As(err, &ci):
		return "the server's TLS certificate is not valid: " + ci.Error()
	case errors.As(err, &pe):
		return pgReason(pe)
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return "the server does not offer TLS (sslmode asks for it)"
	case errors.As(err, &oe):
		return "cannot reach the server: " + oe.Err.Error()
	}
	return lastPart(err)
}

// pgReason is a server's error in words.
func pgReason(pe *pgconn.PgError) string {
	switch pe.Code {
	case "28P01":
		return "password authentication failed for user " + strconv.Quote(userOf(pe.Message)) +
			" (the password comes from the URL, PGPASSWORD, PGPASSFILE or ~/.pgpass)"
	case "28000":
		return "the server refused the connection: " + pe.Message + " (pg_hba.conf)"
	case "3D000":
		return "no such database: " + pe.Message
	}
	return pe.Message + " (SQLSTATE " + pe.Code + ")"
}

func userOf(msg string) string {
	_, u, _ := strings.Cut(msg, `user "`)
	u, _, _ = strings.Cut(u, `"`)
	return u
}

// lastPart is the innermost cause of an error chain (pgx's errors repeat
// the user and database in front).
func lastPart(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// serverError is a PostgreSQL job list's server that stayed out of reach
// (retried for 15 s): said in one line naming the server, as ConnError.
type serverError struct {
	name string
	err  error
}

func (e *serverError) Error() string { return e.name + ": " + connReason(e.err) }

func (e *serverError) Unwrap() error { return e.err }
