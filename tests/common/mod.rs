//! What the tests that need PostgreSQL share: a database of their own.
#![allow(dead_code)]

use showdown_postgres::ReadModels;
use sqlx::{Connection, PgConnection};

pub fn admin_url() -> String {
    std::env::var("SHOWDOWN_POSTGRES_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh database (dropped when the guard is), or `None` without PostgreSQL (a failure
/// when `CI` is set).
pub struct Db {
    pub name: String,
    pub url: String,
}

impl Db {
    pub async fn create(tag: &str) -> Option<Db> {
        let admin = admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                assert!(std::env::var_os("CI").is_none(), "PostgreSQL is unreachable and CI is set: {e}");
                eprintln!("NOTICE: test skipped (it checks nothing): PostgreSQL is unreachable: {e}");
                return None;
            }
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("showdown_rm_{tag}_{}_{:x}", std::process::id(), nanos & 0xffff_ffff);
        let sql = format!("CREATE DATABASE {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("create a database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(Db { url: format!("{base}/{name}"), name })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin = admin_url();
        // A runtime of its own: drop runs outside any.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

pub async fn scalar(rm: &ReadModels, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(rm.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
