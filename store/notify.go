package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"daiban/service"
)

// The outbox: what a step tells whom is written in the step's own
// transaction (addNotices), as rows of outbox (SMS and webhooks, delivered
// afterwards) or of inbox (staff messages, read in the console).

const outboxColumns = `id, msg_id, channel, target, case_id, case_seq, type, body, status, attempts, next_at, last_error, created_at, sent_at`

const (
	outboxInsertSQL = `INSERT INTO outbox (` + outboxColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', ?, NULL)`
	// A webhook notice goes to every endpoint subscribed to its type, one
	// row each, keyed by the message and the endpoint.
	outboxHooksSQL = `INSERT INTO outbox (` + outboxColumns + `)
	SELECT ? || ':' || w.id, ?, 'webhook', w.id, ?, ?, ?, ?, 'pending', 0, ?, '', ?, NULL
	FROM webhook_endpoints w WHERE w.types LIKE ? OR w.types = ',*,'`
	inboxInsertSQL = `INSERT INTO inbox (id, user_id, org_id, errand_id, type, text, created_at, read_at, read_by)
	VALUES (?, ?, ?, ?, ?, ?, ?, NULL, '') ON CONFLICT (id) DO NOTHING`
)

// addNotices writes a step's notices in its transaction.
func (s *Store) addNotices(tx *gorm.DB, ns []service.Notice) error {
	for _, n := range ns {
		at := utc(n.At)
		var err error
		switch n.Channel {
		case service.NoticeInbox:
			_, err = s.exec(tx, inboxInsertSQL, n.ID, n.UserID, n.OrgID, n.CaseID, n.Type, n.Text, at)
		case service.NoticeSMS:
			_, err = s.exec(tx, outboxInsertSQL, n.ID, n.ID, string(n.Channel), n.Phone, n.CaseID, n.CaseSeq, n.Type, n.Text, at, at)
		case service.NoticeWebhook:
			_, err = s.exec(tx, outboxHooksSQL, n.ID, n.ID, n.CaseID, n.CaseSeq, n.Type, n.Text, at, at, "%,"+n.Type+",%")
		default:
			err = errors.New("store: a notice on no known channel: " + string(n.Channel))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AddNotices writes notices that belong to no step (the daily digest); a
// notice whose id is already there is left as it is.
func (s *Store) AddNotices(ctx context.Context, ns []service.Notice) error {
	if len(ns) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *gorm.DB) error { return s.addNotices(tx, ns) })
}

// ClaimDeliveries takes up to limit deliveries that are due at now and
// leases them until lease: no one else takes them meanwhile, and if the
// taker dies they are due again then. A case's deliveries to one receiver
// go one at a time, in order: a delivery waits while an earlier one of its
// case to the same receiver is pending. On PostgreSQL instances skip the
// rows another is claiming (SKIP LOCKED); on SQLite the single writer
// serialises claims.
func (s *Store) ClaimDeliveries(ctx context.Context, now, lease time.Time, limit int) ([]service.Delivery, error) {
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE outbox SET next_at = ?, attempts = attempts + 1 WHERE id IN (
	SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.next_at <= ?
	AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.target = o.target AND p.case_id = o.case_id AND p.case_id <> ''
		AND p.case_seq < o.case_seq AND p.status = 'pending')
	ORDER BY o.next_at, o.id LIMIT ?` + lock + `) RETURNING ` + outboxColumns
	var out []service.Delivery
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = out[:0]
		rows, err := tx.Raw(q, utc(lease), utc(now), limit).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

func scanDelivery(rows *sql.Rows) (service.Delivery, error) {
	var d service.Delivery
	var ch, st string
	var sent *time.Time
	err := rows.Scan(&d.ID, &d.MsgID, &ch, &d.Target, &d.CaseID, new(int), &d.Type, &d.Body, &st, &d.Attempts, &d.NextAt, &d.LastError, &d.CreatedAt, &sent)
	d.Channel, d.Status, d.SentAt = service.NoticeChannel(ch), service.DeliveryStatus(st), unptime(sent)
	d.NextAt, d.CreatedAt = d.NextAt.UTC(), d.CreatedAt.UTC()
	return d, err
}

// RecordDeliveries records a round's results in one transaction: the
// deliveries their receivers accepted at at, and the failed tries, each due
// again at its Next or dead.
func (s *Store) RecordDeliveries(ctx context.Context, at time.Time, sent []string, failed []service.FailedDelivery) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		for len(sent) > 0 {
			n := min(len(sent), 500)
			if err := tx.Exec(`UPDATE outbox SET status = 'sent', sent_at = ?, last_error = '' WHERE id IN ?`, utc(at), sent[:n]).Error; err != nil {
				return err
			}
			sent = sent[n:]
		}
		for _, f := range failed {
			st := service.DeliveryPending
			if f.Dead {
				st = service.DeliveryDead
			}
			why := f.Why
			if len(why) > 500 {
				why = why[:500]
			}
			if _, err := s.exec(tx, `UPDATE outbox SET status = ?, next_at = ?, last_error = ? WHERE id = ?`, string(st), utc(f.Next), strings.ToValidUTF8(why, "?"), f.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReplayDelivery makes a delivery due now with a fresh count of tries.
func (s *Store) ReplayDelivery(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res, err := s.exec(tx, `UPDATE outbox SET status = 'pending', attempts = 0, next_at = ? WHERE id = ? AND status <> 'sent'`, utc(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := tx.Raw(`SELECT status FROM outbox WHERE id = ?`, id).Row().Scan(&st); err != nil {
				return translate(err, "delivery")
			}
			return service.Conflict("already_sent", "this delivery was accepted by its receiver; nothing to replay")
		}
		return nil
	})
}

// Outbox lists deliveries, newest first.
func (s *Store) Outbox(ctx context.Context, f service.OutboxFilter) ([]service.Delivery, error) {
	q, args := `SELECT `+outboxColumns+` FROM outbox`, []any{}
	if f.Status != "" {
		q += ` WHERE status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	rows, err := s.read(ctx).Raw(q, append(args, f.Limit)...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// OutboxDepth is the number of pending deliveries and the age of the
// oldest at now.
func (s *Store) OutboxDepth(ctx context.Context, now time.Time) (int64, time.Duration, error) {
	var n int64
	var oldest *time.Time
	var raw any
	row := s.read(ctx).Raw(`SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'`).Row()
	if err := row.Scan(&n, &raw); err != nil {
		return 0, 0, err
	}
	switch v := raw.(type) {
	case time.Time:
		oldest = &v
	case string:
		// SQLite gives an aggregate of a datetime column as text.
		if t, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", v); err == nil {
			oldest = &t
		}
	}
	if oldest == nil {
		return n, 0, nil
	}
	return n, now.Sub(*oldest), nil
}

// Webhook endpoints.

type webhookRow struct {
	ID        string
	URL       string
	Types     string
	SecretEnc []byte
	CreatedAt time.Time
	CreatedBy string
}

func (webhookRow) TableName() string { return "webhook_endpoints" }

// CreateWebhook saves an endpoint, its secret sealed.
func (s *Store) CreateWebhook(ctx context.Context, w service.Webhook) error {
	r := webhookRow{ID: w.ID, URL: w.URL, Types: "," + strings.Join(w.Types, ",") + ",", SecretEnc: s.crypt.seal(w.Secret), CreatedAt: utc(w.CreatedAt), CreatedBy: w.CreatedBy}
	return s.write(ctx, func(tx *gorm.DB) error { return translate(tx.Create(&r).Error, "webhook") })
}

// Webhooks lists the endpoints with their secrets, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]service.Webhook, error) {
	var rows []webhookRow
	if err := s.read(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]service.Webhook, len(rows))
	for i, r := range rows {
		secret, err := s.crypt.open(r.SecretEnc)
		if err != nil {
			return nil, err
		}
		out[i] = service.Webhook{ID: r.ID, URL: r.URL, Types: strings.Split(strings.Trim(r.Types, ","), ","), Secret: secret, CreatedAt: r.CreatedAt.UTC(), CreatedBy: r.CreatedBy}
	}
	return out, nil
}

// DeleteWebhook removes an endpoint and what is still queued for it.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&webhookRow{}, "id = ?", id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return service.NotFound("webhook")
		}
		return tx.Exec(`DELETE FROM outbox WHERE channel = 'webhook' AND target = ? AND status = 'pending'`, id).Error
	})
}

// The inbox.

// Inbox is a person's messages and their organisation's, newest first.
func (s *Store) Inbox(ctx context.Context, userID, orgID string, limit int) ([]service.InboxItem, error) {
	rows, err := s.read(ctx).Raw(`SELECT id, errand_id, type, text, created_at, read_at FROM inbox
		WHERE user_id = ? OR org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, userID, orgID, limit).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.InboxItem
	for rows.Next() {
		var it service.InboxItem
		var read *time.Time
		if err := rows.Scan(&it.ID, &it.ErrandID, &it.Type, &it.Text, &it.At, &read); err != nil {
			return nil, err
		}
		it.At, it.ReadAt = it.At.UTC(), unptime(read)
		out = append(out, it)
	}
	return out, rows.Err()
}

// UnreadCount counts a person's unread messages and their organisation's.
func (s *Store) UnreadCount(ctx context.Context, userID, orgID string) (int, error) {
	var n int
	err := s.read(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM inbox WHERE user_id = ? AND read_at IS NULL) +
		(SELECT COUNT(*) FROM inbox WHERE org_id = ? AND read_at IS NULL)`, userID, orgID).Row().Scan(&n)
	return n, err
}

// MarkRead marks a message of the person or their organisation read and
// returns the errand it is about ("" for none).
func (s *Store) MarkRead(ctx context.Context, userID, orgID, id string, at time.Time) (string, error) {
	var errandID string
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE inbox SET read_at = COALESCE(read_at, ?), read_by = CASE WHEN read_by = '' THEN ? ELSE read_by END
			WHERE id = ? AND ((user_id = ? AND user_id <> '') OR (org_id = ? AND org_id <> ''))`, utc(at), userID, id, userID, orgID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return service.NotFound("message")
		}
		return tx.Raw(`SELECT errand_id FROM inbox WHERE id = ?`, id).Row().Scan(&errandID)
	})
	return errandID, err
}

// WarningsByHolder counts open errands due by dueBy, and those overdue at
// now, by holding organisation (the same conditions as the warnings list).
func (s *Store) WarningsByHolder(ctx context.Context, dueBy, now time.Time) ([]service.HolderWarnings, error) {
	rows, err := s.read(ctx).Raw(`SELECT e.holder_org_id, SUM(CASE WHEN `+overdueSQL+` THEN 1 ELSE 0 END), COUNT(*)
		FROM errands e WHERE `+dueBySQL+`
		GROUP BY e.holder_org_id ORDER BY e.holder_org_id`, utc(now), utc(dueBy)).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.HolderWarnings
	for rows.Next() {
		var h service.HolderWarnings
		var all int64
		if err := rows.Scan(&h.OrgID, &h.Red, &all); err != nil {
			return nil, err
		}
		h.Yellow = all - h.Red
		out = append(out, h)
	}
	return out, rows.Err()
}
