//! A small pool of read-only connections; queries never wait for the writer.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::Connection;

use crate::schema::open_reader;
use crate::StoreError;

pub(crate) struct ReadPool {
    path: PathBuf,
    cache_mib: usize,
    max_idle: usize,
    idle: Mutex<Vec<Connection>>,
}

/// A connection borrowed from the pool; returned on drop.
pub(crate) struct PooledConnection<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl ReadPool {
    pub fn new(path: PathBuf, cache_mib: usize, max_idle: usize) -> ReadPool {
        ReadPool {
            path,
            cache_mib,
            max_idle,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection, or a new one when all are busy.
    pub fn get(&self) -> Result<PooledConnection<'_>, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path, self.cache_mib)?,
        };
        Ok(PooledConnection {
            pool: self,
            conn: Some(conn),
        })
    }
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until drop")
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if idle.len() < self.pool.max_idle {
            idle.push(conn);
        }
    }
}
