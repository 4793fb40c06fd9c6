//! The gateway's own HTTP header names, built once (a name given as a
//! string is parsed and hashed again on every insert).

use http::HeaderName;

/// The request id: taken from the client or made up, answered and sent upstream.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The target (or targets, for a quorum) that served the request.
pub const TARGET: HeaderName = HeaderName::from_static("x-steadfast-target");
/// How many upstream calls the request took.
pub const ATTEMPTS: HeaderName = HeaderName::from_static("x-steadfast-attempts");
/// An answer from the route's cache: `hit` (without a call) or `stale`
/// (after every target failed).
pub const CACHE: HeaderName = HeaderName::from_static("x-steadfast-cache");
/// The route's static last answer (`true`), given when no target could answer.
pub const STATIC: HeaderName = HeaderName::from_static("x-steadfast-static");
/// The client's request fields a translation to the serving target's format
/// left behind (`seed, frequency_penalty`), when there were any.
pub const DROPPED_FIELDS: HeaderName = HeaderName::from_static("x-steadfast-dropped-fields");
