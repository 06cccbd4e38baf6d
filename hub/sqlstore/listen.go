package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen rings fn for every NOTIFY on channels until ctx ends, on a
// connection of its own (database/sql cannot wait for notifications, so
// this speaks pgx directly). PostgreSQL delivers a notification only to
// sessions listening when it commits: whenever the connection is (re)made,
// fn is called once per channel with the payload "" before anything else,
// so the caller re-reads the tables it watches — a doorbell missed while
// disconnected costs latency, never a change. On SQLite there is no other
// instance to hear from: Listen waits for ctx and returns nil.
func (s *Store) Listen(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	if s.dialect != dialectPostgres {
		<-ctx.Done()
		return nil
	}
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, channels, fn)
		if ctx.Err() != nil {
			return nil
		}
		s.logger.Warn("listening for other instances' changes failed; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	connectCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := pgx.Connect(connectCtx, s.dsn)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(ch)); err != nil {
			return fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	for _, ch := range channels {
		fn(ch, "")
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wait: %w", err)
		}
		fn(n.Channel, n.Payload)
	}
}
