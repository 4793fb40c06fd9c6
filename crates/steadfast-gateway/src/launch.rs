//! The in-process gateway a chaos scenario or the demo plays against: the
//! server's [`Gateway`], started through the chaos runner's
//! [`Launcher`] seam.

use std::net::SocketAddr;

use futures_util::future::BoxFuture;
use steadfast_chaos::Launcher;
use steadfast_server::Gateway;

/// A launcher starting [`Gateway`]s in this process.
pub fn in_process() -> Launcher {
    Launcher::new(|config, path| {
        Box::pin(async move {
            let gateway = Gateway::start_with(config, &path).await?;
            Ok(Box::new(Running(gateway)) as Box<dyn steadfast_chaos::Gateway>)
        })
    })
}

/// A started gateway, as the chaos runner sees it.
struct Running(Gateway);

impl steadfast_chaos::Gateway for Running {
    fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(self.0.shutdown())
    }
}
