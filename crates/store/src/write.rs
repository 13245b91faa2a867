//! Write transactions that never leave a connection half-way.
//!
//! sqlx's own `Transaction` keeps a count of open transactions per
//! connection. When SQLite rolls a transaction back by itself (it may on a
//! full disk or an I/O error) that count goes wrong: the next "transaction"
//! on the connection becomes a savepoint inside one that is never committed,
//! so writes are acknowledged, seen only through that connection, and lost
//! on restart, while the open transaction locks every other writer out.
//!
//! [`WriteTx`] issues BEGIN/COMMIT/ROLLBACK itself and trusts a connection
//! again only after a clean COMMIT or ROLLBACK; after any other outcome the
//! connection is closed and the pool opens a fresh one.

use crate::error::StoreError;
use crate::handle::{Backend, Store};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};
use std::ops::{Deref, DerefMut};
use tokio::sync::OwnedMutexGuard;

/// An open write transaction. Commit it with [`WriteTx::commit`]; dropped
/// without that, it is rolled back (on a task, holding the write turn until
/// the rollback is done).
pub(crate) struct WriteTx {
    conn: Option<PoolConnection<Any>>,
    /// SQLite: this process's turn to write.
    turn: Option<OwnedMutexGuard<()>>,
}

impl Store {
    /// Takes the write turn (SQLite), a connection and opens a transaction
    /// that holds the database's write lock from its first statement.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let turn = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let mut conn = self.pool.acquire().await?;
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        if let Err(e) = conn.execute(begin).await {
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(WriteTx {
            conn: Some(conn),
            turn,
        })
    }
}

impl WriteTx {
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let mut conn = self
            .conn
            .take()
            .expect("a WriteTx holds its connection until it ends");
        match conn.execute("COMMIT").await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Whether the database kept the transaction open or rolled it
                // back, this connection is not trusted again.
                let _ = conn.execute("ROLLBACK").await;
                conn.close_on_drop();
                Err(e.into())
            }
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let turn = self.turn.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if conn.execute("ROLLBACK").await.is_err() {
                        conn.close_on_drop();
                    }
                    drop(turn);
                });
            }
            // No runtime left to roll back on: closing the connection rolls
            // the transaction back.
            Err(_) => conn.close_on_drop(),
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        self.conn
            .as_deref()
            .expect("a WriteTx holds its connection until it ends")
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn
            .as_deref_mut()
            .expect("a WriteTx holds its connection until it ends")
    }
}
