//! A client's request on its way out: the body each target gets, in the
//! target's format. A target of the client's own format gets the client's
//! fields untouched but for `model`; any other gets the request converted
//! through the canonical model, within the gateway's budget of bytes being
//! translated at once ([`TranslationBudget`]). The canonical request lives
//! only while one target's body is written: a request is not held in memory
//! in three forms for the whole of its answer.

use bytes::Bytes;
use steadfast_wire::fields::Fields;
use steadfast_wire::format::Format;
use steadfast_wire::splice::Splice;
use steadfast_wire::translate::Translation;

use crate::error::AttemptError;
use crate::outcome::Skip;
use crate::runtime::Target;
use crate::translating::TranslationBudget;
use tokio::sync::OwnedSemaphorePermit;

/// A client's request, as it arrived.
#[derive(Debug)]
pub struct Inbound {
    /// The client's format.
    pub format: Format,
    /// The path on targets of the client's format.
    path: &'static str,
    /// Whether it is a chat request (the only kind other formats can take).
    chat: bool,
    fields: Fields,
    /// Whether the answer is streamed.
    pub stream: bool,
    /// The budget its translations are made within, if any.
    translating: Option<TranslationBudget>,
}

/// What to send one target.
#[derive(Debug)]
pub struct Call {
    /// The path, relative to the provider's base URL.
    pub path: &'static str,
    /// The body.
    pub body: Bytes,
    /// The formats of the exchange.
    pub translation: Translation,
    /// When it continues a broken stream: the check its text must pass to
    /// be joined to what the client has (see the proxy's stream relay).
    pub continuation: Option<Splice>,
    /// Put a streamed answer together for the route's cache, up to this many bytes.
    pub capture: Option<usize>,
}

impl Inbound {
    /// Translations of it are made within `budget` from now on.
    pub fn translating_within(&mut self, budget: TranslationBudget) {
        self.translating = Some(budget);
    }

    /// The fields a translation for `target` leaves behind: none when the
    /// target takes the request as sent, else every field the client's
    /// format's translation does not carry.
    pub fn dropped_for(&self, target: &Target) -> Vec<String> {
        let translated = !Translation {
            client: self.format,
            target: target.provider.format,
            include_usage: false,
        }
        .is_passthrough();
        match self.format.codec().carried_fields() {
            Some(carried) if translated && self.chat => self
                .fields
                .names()
                .filter(|name| !carried.contains(name))
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether it is a chat request.
    pub fn is_chat(&self) -> bool {
        self.chat
    }

    /// The client's fields, as sent.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Whether an OpenAI client asked for usage in its stream
    /// (`stream_options.include_usage`).
    pub fn include_usage(&self) -> bool {
        self.fields
            .get::<StreamOptions>("stream_options")
            .is_some_and(|options| options.include_usage == Some(true))
    }

    /// A chat request in `format`.
    pub fn chat(format: Format, fields: Fields, stream: bool) -> Inbound {
        Inbound {
            format,
            path: format.codec().chat_path(stream),
            chat: true,
            fields,
            stream,
            translating: None,
        }
    }

    /// A request that only targets of `format` can take, at `path`
    /// (embeddings, legacy completions), answered as a stream if `stream`.
    pub fn native(format: Format, path: &'static str, fields: Fields, stream: bool) -> Inbound {
        Inbound {
            chat: false,
            path,
            ..Inbound::chat(format, fields, stream)
        }
    }

    /// The request for `target`. A request that cannot be put in the target's
    /// format passes the target over ([`Skip::Untranslatable`]), so another may take it;
    /// the caller drops the target's admission unrecorded, as nothing was sent.
    pub fn call(&self, target: &Target) -> Result<Call, AttemptError> {
        let target_format = target.provider.format;
        let translation = Translation {
            client: self.format,
            target: target_format,
            include_usage: self.include_usage(),
        };
        let model = target.upstream_model();
        // A request goes as sent to a target speaking the client's format
        // (a chat request at the path and with the model where its provider
        // wants them).
        let provider = &target.provider;
        if translation.is_passthrough() {
            let (path, body) = match self.chat {
                true => (
                    provider.chat_path(self.path, self.stream),
                    provider.forward_chat(&self.fields, model),
                ),
                false => (self.path, self.fields.to_json_with_model(model)),
            };
            return Ok(Call {
                path,
                body: Bytes::from(body),
                translation,
                continuation: None,
                capture: None,
            });
        }
        let refuse = |why: &str| {
            AttemptError::passed_over(
                Skip::Untranslatable,
                format!(
                    "{} speaks another API and cannot take this request: {why}",
                    target.name
                ),
            )
        };
        if !self.chat {
            return Err(refuse("only chat requests are translated"));
        }
        let _translating = match &self.translating {
            Some(budget) => Some(self.take_translation(budget, target, refuse)?),
            None => None,
        };
        let canonical = self
            .format
            .codec()
            .parse_request(&self.fields.to_map())
            .map_err(|error| refuse(&error.0))?;
        let codec = target_format.codec();
        let refused = codec.cannot_take(model, &canonical);
        if let Some(why) = refused.or_else(|| provider.cannot_take(&canonical)) {
            return Err(refuse(&why));
        }
        let body = provider.adapt_chat(codec.write_request(&canonical, model));
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Ok(Call {
            path: provider.chat_path(codec.chat_path(self.stream), self.stream),
            body: Bytes::from(body),
            translation,
            continuation: None,
            capture: None,
        })
    }
}

impl Inbound {
    /// Leave from `budget` to translate the request for `target`: refused
    /// for good (as `refuse` says) when the request alone would cost more
    /// than the whole budget, for now when others hold it.
    fn take_translation(
        &self,
        budget: &TranslationBudget,
        target: &Target,
        refuse: impl Fn(&str) -> AttemptError,
    ) -> Result<OwnedSemaphorePermit, AttemptError> {
        let cost = self.fields.translation_cost();
        if cost > budget.total() {
            return Err(refuse(&format!(
                "translating it would take about {} MiB, more than server.max_translating_bytes ({} MiB): \
                 its content is split into too many parts",
                cost / MIB,
                budget.total() / MIB
            )));
        }
        budget.take(cost).ok_or_else(|| {
            AttemptError::passed_over(
                Skip::TranslationBudget,
                format!(
                    "{} was passed over for now: the gateway is translating as much as server.max_translating_bytes allows",
                    target.name
                ),
            )
        })
    }
}

/// A mebibyte.
const MIB: u64 = 1024 * 1024;

/// OpenAI's `stream_options`, as far as the gateway reads it.
#[derive(serde::Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}
