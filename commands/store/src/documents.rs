//! Where KYC document files are kept: sealed with their person's key before they get here (see
//! [`crate::privacy::Keyring::seal_file`]), so no store ever holds a plaintext file, and a
//! destroyed key leaves any copy unreadable.
//!
//! Two stores: the database (`client_documents`, the default) and an S3-compatible bucket
//! (`CRM_DOCUMENT_STORE=s3://bucket/prefix`, with the endpoint, region and credentials taken
//! from the usual `AWS_*` variables), objects named `<prefix>/<client id>/<document id>`.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use crate::db::{Db, StoreError};
use crate::with_db;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Database(#[from] StoreError),
    #[error("document store: {0}")]
    Object(#[from] object_store::Error),
    #[error("CRM_DOCUMENT_STORE: {0}")]
    Config(String),
}

impl From<sqlx::Error> for DocumentError {
    fn from(e: sqlx::Error) -> Self {
        DocumentError::Database(StoreError::Database(e))
    }
}

/// A place for sealed document files, by client and document.
pub trait DocumentStore: Send + Sync {
    /// Keeps `sealed` as the file of `document` of `client`.
    fn put<'a>(
        &'a self,
        client: &'a str,
        document: &'a str,
        sealed: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), DocumentError>>;

    /// The sealed file, if it is kept.
    fn get<'a>(
        &'a self,
        client: &'a str,
        document: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, DocumentError>>;

    /// Deletes the files named, or every file of the client when `only` is `None`; how many
    /// were there.
    fn delete<'a>(
        &'a self,
        client: &'a str,
        only: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<u64, DocumentError>>;

    /// The documents of the client whose files are kept.
    fn ids<'a>(&'a self, client: &'a str) -> BoxFuture<'a, Result<Vec<String>, DocumentError>>;

    /// `database` or `s3`.
    fn kind(&self) -> &'static str;
}

/// The store `url` names: `None` (or empty) for the database, `s3://bucket/prefix` for a bucket.
pub fn open(db: &Db, url: Option<&str>) -> Result<Arc<dyn DocumentStore>, DocumentError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    match url {
        None | Some("database") => Ok(Arc::new(InDatabase { db: db.clone() })),
        Some(u) => {
            let rest = u.strip_prefix("s3://").ok_or_else(|| {
                DocumentError::Config(format!(
                    "{u:?} is neither `database` nor s3://bucket/prefix"
                ))
            })?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(DocumentError::Config("the bucket is missing".into()));
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            // A local S3-compatible server (MinIO, moto) is reached over plain HTTP.
            let endpoint = std::env::var("AWS_ENDPOINT_URL")
                .or_else(|_| std::env::var("AWS_ENDPOINT"))
                .unwrap_or_default();
            if endpoint.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
            Ok(Arc::new(InBucket {
                store: builder.build()?,
                prefix: prefix.trim_matches('/').to_string(),
            }))
        }
    }
}

/// The location `url` stands for: `database`, or `s3://bucket/prefix` without slashes at the
/// ends of the prefix.
fn location(url: Option<&str>) -> String {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        None => "database".into(),
        Some(u) => u.trim_end_matches('/').to_string(),
    }
}

/// Records where this store keeps its files the first time, and refuses another setting after.
pub async fn check_location(db: &Db, url: Option<&str>) -> Result<(), DocumentError> {
    let wanted = location(url);
    let recorded: String = with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO document_store (id, location) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&wanted)
        .execute(pool)
        .await?;
        sqlx::query_scalar("SELECT location FROM document_store WHERE id = 1")
            .fetch_one(pool)
            .await?
    });
    if recorded != wanted {
        return Err(DocumentError::Config(format!(
            "this store keeps its document files in {recorded}, not {wanted}: set \
             CRM_DOCUMENT_STORE={recorded} (files are not moved from one store to another)"
        )));
    }
    Ok(())
}

/// Files in the `client_documents` table of the store's own database.
pub struct InDatabase {
    db: Db,
}

impl DocumentStore for InDatabase {
    fn put<'a>(
        &'a self,
        client: &'a str,
        document: &'a str,
        sealed: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), DocumentError>> {
        Box::pin(async move {
            let now = chrono::Utc::now().to_rfc3339();
            with_db!(&self.db, pool => {
                sqlx::query(
                    "INSERT INTO client_documents (document_id, client_id, content, created_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(document)
                .bind(client)
                .bind(sealed)
                .bind(now)
                .execute(pool)
                .await?;
            });
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        client: &'a str,
        document: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, DocumentError>> {
        Box::pin(async move {
            Ok(with_db!(&self.db, pool => {
                sqlx::query_scalar(
                    "SELECT content FROM client_documents WHERE document_id = $1 AND client_id = $2",
                )
                .bind(document)
                .bind(client)
                .fetch_optional(pool)
                .await?
            }))
        })
    }

    fn delete<'a>(
        &'a self,
        client: &'a str,
        only: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<u64, DocumentError>> {
        Box::pin(async move {
            Ok(match only {
                None => with_db!(&self.db, pool => {
                    sqlx::query("DELETE FROM client_documents WHERE client_id = $1")
                        .bind(client)
                        .execute(pool)
                        .await?
                        .rows_affected()
                }),
                Some(ids) => {
                    let mut n = 0;
                    for id in ids {
                        n += with_db!(&self.db, pool => {
                            sqlx::query(
                                "DELETE FROM client_documents WHERE document_id = $1 AND client_id = $2",
                            )
                            .bind(id)
                            .bind(client)
                            .execute(pool)
                            .await?
                            .rows_affected()
                        });
                    }
                    n
                }
            })
        })
    }

    fn ids<'a>(&'a self, client: &'a str) -> BoxFuture<'a, Result<Vec<String>, DocumentError>> {
        Box::pin(async move {
            Ok(with_db!(&self.db, pool => {
                sqlx::query_scalar("SELECT document_id FROM client_documents WHERE client_id = $1")
                    .bind(client)
                    .fetch_all(pool)
                    .await?
            }))
        })
    }

    fn kind(&self) -> &'static str {
        "database"
    }
}

/// Files as objects of an S3-compatible bucket.
pub struct InBucket {
    store: object_store::aws::AmazonS3,
    prefix: String,
}

impl InBucket {
    fn folder(&self, client: &str) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(client),
            p => ObjectPath::from(format!("{p}/{client}")),
        }
    }

    fn path(&self, client: &str, document: &str) -> ObjectPath {
        self.folder(client).child(document)
    }
}

impl DocumentStore for InBucket {
    fn put<'a>(
        &'a self,
        client: &'a str,
        document: &'a str,
        sealed: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), DocumentError>> {
        Box::pin(async move {
            self.store
                .put(&self.path(client, document), sealed.into())
                .await?;
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        client: &'a str,
        document: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, DocumentError>> {
        Box::pin(async move {
            match self.store.get(&self.path(client, document)).await {
                Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn delete<'a>(
        &'a self,
        client: &'a str,
        only: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<u64, DocumentError>> {
        Box::pin(async move {
            let ids = match only {
                Some(ids) => ids.to_vec(),
                None => self.ids(client).await?,
            };
            let mut n = 0;
            for id in ids {
                match self.store.delete(&self.path(client, &id)).await {
                    Ok(()) => n += 1,
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(n)
        })
    }

    fn ids<'a>(&'a self, client: &'a str) -> BoxFuture<'a, Result<Vec<String>, DocumentError>> {
        Box::pin(async move {
            let folder = self.folder(client);
            let objects: Vec<_> = self.store.list(Some(&folder)).try_collect().await?;
            Ok(objects
                .iter()
                .filter_map(|o| o.location.filename().map(str::to_string))
                .collect())
        })
    }

    fn kind(&self) -> &'static str {
        "s3"
    }
}
