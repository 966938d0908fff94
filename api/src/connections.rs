//! Connections the server holds: at most a configured number at once (a connection past it
//! waits in the listen backlog until one closes), each closed once it has been silent for
//! the idle timeout (a client that sends nothing, stops mid-headers or declares a body it
//! never sends), and each request answered within the request timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// An acceptor that holds a permit per open connection and closes a connection silent for
/// `idle`.
pub struct Capped<A> {
    inner: A,
    permits: Arc<Semaphore>,
    idle: Duration,
}

impl<A> Capped<A> {
    pub fn new(inner: A, max: usize, idle: Duration) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max.max(1))),
            idle,
        }
    }
}

impl<A: Acceptor> Acceptor for Capped<A> {
    type Io = Held<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let (io, local, remote, scheme) = self.inner.accept().await?;
        Ok((
            Held {
                io,
                _permit: permit,
                idle: self.idle,
                deadline: Box::pin(tokio::time::sleep(self.idle)),
            },
            local,
            remote,
            scheme,
        ))
    }
}

/// A connection and its permit, given back when the connection is dropped. A read or a
/// write that waits longer than `idle` without any byte moving fails (`TimedOut`), which
/// closes the connection: mid-headers, mid-body or between requests alike. The server may
/// read while a handler works (to notice a client gone), so `idle` must be longer than the
/// request timeout: a slow handler then answers its `503` before its connection goes quiet
/// for too long. (poem's own idle timeout closes silent connections, but waits for a request
/// begun, which a client that stops mid-headers never finishes.)
pub struct Held<T> {
    io: T,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<T> Held<T> {
    /// Some bytes moved: the silence starts again.
    fn moved(&mut self) {
        let at = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(at);
    }

    /// Waiting: whether the silence has lasted too long.
    fn silent_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the connection was silent too long",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for Held<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending if this.silent_too_long(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Held<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            // A client that does not read what it asked for.
            Poll::Pending if this.silent_too_long(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Answers `503` with a problem when a request takes longer than its limit (reading its
/// body included).
pub struct RequestTimeout(pub Duration);

impl<E: Endpoint> Middleware<E> for RequestTimeout {
    type Output = TimeoutEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        TimeoutEndpoint {
            inner: ep,
            limit: self.0,
        }
    }
}

pub struct TimeoutEndpoint<E> {
    inner: E,
    limit: Duration,
}

impl<E: Endpoint> Endpoint for TimeoutEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        match tokio::time::timeout(self.limit, self.inner.call(req)).await {
            Ok(answer) => answer.map(IntoResponse::into_response),
            Err(_) => Ok(crate::problem::ApiError::timed_out(self.limit).into_response()),
        }
    }
}
