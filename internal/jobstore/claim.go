package jobstore

import (
	"context"
	"fmt"
	"time"
)

// claimChunk bounds the ids of one claiming statement.
const claimChunk = 500

// Claim marks the jobs ids (those still on the list) as being worked on by
// owner until now+ttl, in one transaction, and returns the ids it claimed:
// those nobody claims, or whose claim ran out, or that owner claims already.
// A job claimed by another live process, or gone from the list (another
// process fetched and removed it), is not returned. On PostgreSQL the rows
// another transaction is claiming at this moment are passed over (SKIP
// LOCKED); SQLite serialises the transactions.
func (s *Store) Claim(ctx context.Context, owner string, ttl time.Duration, ids ...string) (got []string, err error) {
	if owner == "" {
		return nil, fmt.Errorf("job list: a claim needs an owner")
	}
	err = s.retry(ctx, func() (err error) {
		got, err = s.claimTx(ctx, owner, ttl, ids)
		return err
	})
	return got, err
}

func (s *Store) claimTx(ctx context.Context, owner string, ttl time.Duration, ids []string) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("job list: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	now := time.Now()
	var got []string
	for start := 0; start < len(ids); start += claimChunk {
		chunk := ids[start:min(start+claimChunk, len(ids))]
		free, err := s.claimable(ctx, tx, owner, now, chunk)
		if err != nil {
			return nil, err
		}
		if err := s.setClaim(ctx, tx, owner, now.Add(ttl).Unix(), free); err != nil {
			return nil, err
		}
		got = append(got, free...)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("job list: claim: %w", err)
	}
	return got, nil
}

// claimable selects (and on PostgreSQL locks) the ids of chunk owner may claim.
func (s *Store) claimable(ctx context.Context, tx execer, owner string, now time.Time, chunk []string) ([]string, error) {
	args := make([]any, 0, len(chunk)+2)
	for _, id := range chunk {
		args = append(args, id)
	}
	args = append(args, now.Unix(), owner)
	rows, err := tx.QueryContext(ctx, s.d.q(`SELECT id FROM jobs WHERE id IN (`+placeholders(len(chunk))+`)
	  AND (claim_until < ? OR claim_owner = ?)`+s.d.skipLocked), args...)
	if err != nil {
		return nil, fmt.Errorf("job list: claim: %w", err)
	}
	defer rows.Close()
	var free []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("job list: claim: %w", err)
		}
		free = append(free, id)
	}
	return free, rows.Err()
}

func (s *Store) setClaim(ctx context.Context, tx execer, owner string, until int64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{owner, until}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := tx.ExecContext(ctx, s.d.q(`UPDATE jobs SET claim_owner = ?, claim_until = ? WHERE id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return fmt.Errorf("job list: claim: %w", err)
	}
	return nil
}

// Release gives back owner's claims on the jobs ids (their work failed or
// is done and they stay on the list): another process may claim them now.
func (s *Store) Release(ctx context.Context, owner string, ids ...string) error {
	for start := 0; start < len(ids); start += claimChunk {
		chunk := ids[start:min(start+claimChunk, len(ids))]
		args := []any{owner}
		for _, id := range chunk {
			args = append(args, id)
		}
		_, err := s.exec(ctx, `UPDATE jobs SET claim_owner = '', claim_until = 0 WHERE claim_owner = ? AND id IN (`+
			placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return fmt.Errorf("job list: give back claims: %w", err)
		}
	}
	return nil
}

// Claimant returns who claims job id, and until when ("" when nobody does
// or the claim ran out).
func (s *Store) Claimant(ctx context.Context, id string) (string, time.Time, error) {
	var owner string
	var until int64
	err := s.queryRow(ctx, `SELECT claim_owner, claim_until FROM jobs WHERE id = ?`, id).Scan(&owner, &until)
	if err != nil {
		return "", time.Time{}, err
	}
	if until < time.Now().Unix() {
		return "", time.Time{}, nil
	}
	return owner, time.Unix(until, 0), nil
}

// FetchedPrefix starts the claim of a job whose outputs are downloaded but
// which is not yet cleaned from its CE: nobody downloads it again, and any
// process may clean it.
const FetchedPrefix = "fetched "

// MarkFetched turns owner's claim on job id into a lasting "fetched" mark
// (see FetchedPrefix).
func (s *Store) MarkFetched(ctx context.Context, owner, id string) error {
	_, err := s.exec(ctx, `UPDATE jobs SET claim_owner = ?, claim_until = ? WHERE id = ? AND claim_owner = ?`,
		FetchedPrefix+owner, int64(1)<<62, id, owner)
	if err != nil {
		return fmt.Errorf("job list: mark %s fetched: %w", id, err)
	}
	return nil
}
