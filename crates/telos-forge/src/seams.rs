//! The forge plugged into message send: methods run through the [`Runner`] (the image's
//! Invoker seam), and a message nothing understands is forged, then answered, in one cycle
//! (the image's doesNotUnderstand seam).

use std::sync::Arc;

use serde_json::Value;
use telos_image::{BoxFuture, DoesNotUnderstand, Image, Invocation, Invoker, Object};

use crate::Forge;
use crate::sandbox::{Runner, invoke};

/// The image's Invoker in the product: a python method runs through the runner.
pub struct RunnerInvoker(pub Arc<dyn Runner>);

impl Invoker for RunnerInvoker {
    fn invoke(&self, call: Invocation) -> BoxFuture<'_, telos_image::Result<Value>> {
        Box::pin(async move {
            let failed = |message: String| telos_image::Error::InvocationFailed {
                receiver: call.receiver.name.clone(),
                selector: call.selector.clone(),
                message,
            };
            if call.method.language != "python" {
                return Err(failed(format!(
                    "its language is {:?}; the sandbox runs python methods",
                    call.method.language
                )));
            }
            invoke(self.0.as_ref(), &call.method.source, &call.args)
                .await
                .map(|(v, _)| v)
                .map_err(|(why, _)| failed(why))
        })
    }
}

/// The image's doesNotUnderstand in the product: forge the method, then answer with it.
pub struct ForgeOnMiss(pub Forge);

impl DoesNotUnderstand for ForgeOnMiss {
    fn not_understood(
        &self,
        _image: Image,
        receiver: Arc<Object>,
        selector: String,
        args: Value,
    ) -> BoxFuture<'_, telos_image::Result<Value>> {
        Box::pin(async move {
            let slots: Vec<&str> = receiver.slots.keys().map(String::as_str).collect();
            let mut description = format!(
                "answer the message {selector:?} sent to {:?}",
                receiver.name
            );
            if !slots.is_empty() {
                description.push_str(&format!(" (its own slots: {})", slots.join(", ")));
            }
            description.push('.');
            let outcome = self
                .0
                .forge(receiver.id.as_str(), &selector, &description, Some(args))
                .await;
            match outcome {
                Ok(o) => Ok(o.result.unwrap_or(Value::Null)),
                Err(e) => Err(telos_image::Error::NotUnderstoodForgeFailed {
                    receiver: receiver.name.clone(),
                    selector,
                    why: e.to_string(),
                    suspended: match e {
                        crate::Error::ForgeFailed { cycle, .. } => Some(cycle),
                        _ => None,
                    },
                }),
            }
        })
    }
}
