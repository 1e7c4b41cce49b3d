//! EPCIS subscriptions and their deliveries.

use idnode_store::{Attribution, Delivery, Result, Settled, Subscription};

use crate::sql::{Cols, Stmt};
use crate::{Conn, Dialect, SqlStore};

const COLUMNS: &str = "id, owner, query_name, actor, dest, secret, stream, schedule, \
                       report_if_empty, created_at, min_record_time, next_run, last_notified_at";

fn row<D: Dialect>(r: &<D::DB as sqlx::Database>::Row) -> Result<Subscription> {
    let c = Cols::<D::DB>(r);
    Ok(Subscription {
        id: c.string("id")?,
        owner: c.int("owner")?,
        query: c.string("query_name")?,
        actor: c.string("actor")?,
        dest: c.string("dest")?,
        secret: c.string("secret")?,
        stream: c.int("stream")? != 0,
        schedule: c.string("schedule")?,
        report_if_empty: c.int("report_if_empty")? != 0,
        created_at: c.int("created_at")?,
        min_record_time: c.int("min_record_time")?,
        next_run: c.int("next_run")?,
        last_notified_at: c.opt_int("last_notified_at")?,
    })
}

/// Inside a capture's transaction: the capture is due to every stream subscription.
pub(crate) async fn enqueue_capture<D: Dialect>(
    conn: &mut Conn<D>,
    capture: i64,
    now: i64,
) -> Result<()> {
    Stmt::new(
        "INSERT INTO epcis_deliveries (subscription, capture, attempts, next_at, error) \
         SELECT id, $1, 0, $2, '' FROM epcis_subscriptions WHERE stream = 1",
    )
    .bind(capture)
    .bind(now)
    .execute::<D::DB>(conn)
    .await
    .map_err(D::error)?;
    Ok(())
}

/// Deletes the subscriptions of `owner`'s query `query` (only `id`, when given) and their
/// deliveries, in the caller's transaction; how many.
pub(crate) async fn delete_subscriptions<D: Dialect>(
    tx: &mut Conn<D>,
    owner: i64,
    query: &str,
    id: Option<&str>,
) -> Result<u64> {
    Stmt::new(
        "DELETE FROM epcis_deliveries WHERE subscription IN (SELECT id FROM \
         epcis_subscriptions WHERE owner = $1 AND query_name = $2 AND ($3 IS NULL OR id = $3))",
    )
    .bind(owner)
    .bind(query)
    .bind(id)
    .execute::<D::DB>(&mut *tx)
    .await
    .map_err(D::error)?;
    Stmt::new(
        "DELETE FROM epcis_subscriptions WHERE owner = $1 AND query_name = $2 \
         AND ($3 IS NULL OR id = $3)",
    )
    .bind(owner)
    .bind(query)
    .bind(id)
    .execute::<D::DB>(&mut *tx)
    .await
    .map_err(D::error)
}

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn insert_subscription(
        &self,
        s: &Subscription,
        by: &Attribution,
    ) -> Result<()> {
        let mut w = self.writer().await?;
        let mut c = w.begin().await?;
        Stmt::new(format!(
            "INSERT INTO epcis_subscriptions ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&s.id)
        .bind(s.owner)
        .bind(&s.query)
        .bind(&s.actor)
        .bind(&s.dest)
        .bind(&s.secret)
        .bind(i64::from(s.stream))
        .bind(&s.schedule)
        .bind(i64::from(s.report_if_empty))
        .bind(s.created_at)
        .bind(s.min_record_time)
        .bind(s.next_run)
        .bind(s.last_notified_at)
        .execute::<D::DB>(&mut c)
        .await
        .map_err(D::error)?;
        let target = format!("subscription {} to {} of {}", s.id, s.query, s.owner);
        let fields: [&[u8]; 4] = [
            s.id.as_bytes(),
            s.query.as_bytes(),
            s.dest.as_bytes(),
            s.schedule.as_bytes(),
        ];
        let e = crate::audit::entry(by, "epcis.subscription.create", target, &fields, self.audit);
        crate::audit::chain::<D>(&mut c, e).await?;
        c.commit().await.map_err(D::error)?;
        w.settle();
        Ok(())
    }

    pub(crate) async fn subscription_rows(
        &self,
        owner: Option<i64>,
        query: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<Subscription>> {
        let stmt = Stmt::new(format!(
            "SELECT {COLUMNS} FROM epcis_subscriptions WHERE ($1 IS NULL OR owner = $1) \
             AND ($2 IS NULL OR query_name = $2) AND ($3 IS NULL OR id = $3) \
             ORDER BY created_at, id"
        ))
        .bind(owner)
        .bind(query)
        .bind(id);
        let rows = self.all(stmt).await?;
        rows.iter().map(|r| row::<D>(r)).collect()
    }

    /// Deletes the subscription `id` of `owner`'s query `query` and its deliveries;
    /// whether there was one.
    pub(crate) async fn remove_subscription(
        &self,
        owner: i64,
        query: &str,
        id: &str,
        by: &Attribution,
    ) -> Result<bool> {
        let mut w = self.writer().await?;
        let mut tx = w.begin().await?;
        let n = delete_subscriptions::<D>(&mut tx, owner, query, Some(id)).await?;
        if n > 0 {
            let target = format!("subscription {id} to {query} of {owner}");
            let fields: [&[u8]; 2] = [id.as_bytes(), query.as_bytes()];
            let e =
                crate::audit::entry(by, "epcis.subscription.delete", target, &fields, self.audit);
            crate::audit::chain::<D>(&mut tx, e).await?;
        }
        tx.commit().await.map_err(D::error)?;
        w.settle();
        Ok(n > 0)
    }

    pub(crate) async fn due(&self, now: i64, limit: u64) -> Result<Vec<Delivery>> {
        let stmt = Stmt::new(
            "SELECT subscription, capture, attempts, next_at, error FROM epcis_deliveries \
             WHERE next_at <= $1 ORDER BY next_at, capture LIMIT $2",
        )
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self.all(stmt).await?;
        rows.iter()
            .map(|r| {
                let c = Cols::<D::DB>(r);
                Ok(Delivery {
                    subscription: c.string("subscription")?,
                    capture: c.int("capture")?,
                    attempts: c.int("attempts")?,
                    next_at: c.int("next_at")?,
                    error: c.string("error")?,
                })
            })
            .collect()
    }

    pub(crate) async fn settle(&self, d: &Delivery, settled: &Settled) -> Result<()> {
        let mut w = self.writer().await?;
        let mut tx = w.begin().await?;
        let stmt = match settled {
            Settled::Done(_) | Settled::GiveUp => {
                Stmt::new("DELETE FROM epcis_deliveries WHERE subscription = $1 AND capture = $2")
                    .bind(&d.subscription)
                    .bind(d.capture)
            }
            Settled::Retry { next_at, error } => Stmt::new(
                "UPDATE epcis_deliveries SET attempts = attempts + 1, next_at = $3, error = $4 \
                 WHERE subscription = $1 AND capture = $2",
            )
            .bind(&d.subscription)
            .bind(d.capture)
            .bind(*next_at)
            .bind(error.as_str()),
        };
        stmt.execute::<D::DB>(&mut tx).await.map_err(D::error)?;
        if let Settled::Done(at) = settled {
            Stmt::new("UPDATE epcis_subscriptions SET last_notified_at = $1 WHERE id = $2")
                .bind(*at)
                .bind(&d.subscription)
                .execute::<D::DB>(&mut tx)
                .await
                .map_err(D::error)?;
        }
        let out = tx.commit().await.map_err(D::error);
        w.settle();
        out
    }

    pub(crate) async fn scheduled(&self, now: i64, limit: u64) -> Result<Vec<Subscription>> {
        let stmt = Stmt::new(format!(
            "SELECT {COLUMNS} FROM epcis_subscriptions WHERE stream = 0 AND next_run <= $1 \
             ORDER BY next_run, id LIMIT $2"
        ))
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self.all(stmt).await?;
        rows.iter().map(|r| row::<D>(r)).collect()
    }

    pub(crate) async fn move_on(
        &self,
        id: &str,
        min_record_time: i64,
        next_run: i64,
        notified: Option<i64>,
    ) -> Result<()> {
        let mut c = self.write_conn().await?;
        Stmt::new(
            "UPDATE epcis_subscriptions SET min_record_time = $2, next_run = $3, \
             last_notified_at = COALESCE($4, last_notified_at) WHERE id = $1",
        )
        .bind(id)
        .bind(min_record_time)
        .bind(next_run)
        .bind(notified)
        .execute::<D::DB>(&mut c)
        .await
        .map_err(D::error)?;
        Ok(())
    }
}
