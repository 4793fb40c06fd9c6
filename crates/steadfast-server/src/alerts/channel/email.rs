//! Email over SMTP with lettre: STARTTLS (required) or a plain connection to
//! a local relay, optional credentials, one message per notice with the
//! notice's title as subject.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use steadfast_config::{EmailChannel, SmtpTls};

use super::{ATTEMPT_TIMEOUT, DeliveryError};
use crate::alerts::notice::Notice;

/// An SMTP channel.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl Email {
    /// A channel over the configured server.
    pub fn new(settings: &EmailChannel) -> Result<Email, DeliveryError> {
        let smtp = |e: lettre::transport::smtp::Error| DeliveryError::Smtp(e.to_string());
        let mut builder = match settings.tls {
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(smtp)?
            }
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        }
        .port(settings.port)
        .timeout(Some(ATTEMPT_TIMEOUT));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(
                user.expose().to_owned(),
                password.expose().to_owned(),
            ));
        }
        let mailbox = |text: &str| {
            text.parse::<Mailbox>()
                .map_err(|e| DeliveryError::Unusable(format!("{text:?}: {e}")))
        };
        Ok(Email {
            transport: builder.build(),
            from: mailbox(&settings.from)?,
            to: settings
                .to
                .iter()
                .map(|to| mailbox(to))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Sends `notice` as one message to every recipient.
    pub async fn deliver(&self, notice: &Notice) -> Result<(), DeliveryError> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(notice.title())
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .body(notice.text())
            .map_err(|e| DeliveryError::Unusable(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| DeliveryError::Smtp(e.to_string()))
    }
}
