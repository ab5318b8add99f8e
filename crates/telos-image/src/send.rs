//! The seams of message send: what runs a method, and what happens when nothing understands.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::object::{Method, Object, ObjectId};

/// A boxed future, so the seams stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A method call about to run.
pub struct Invocation {
    pub image: Image,
    pub receiver: Arc<Object>,
    /// The object in the delegation chain that holds the method.
    pub holder: ObjectId,
    pub selector: String,
    pub method: Method,
    pub args: Value,
}

/// Runs methods. The product's invoker is the sandbox (Tool Forge issue).
pub trait Invoker: Send + Sync {
    fn invoke(&self, call: Invocation) -> BoxFuture<'_, Result<Value>>;
}

/// Called when nothing in the receiver's delegation chain answers a selector.
pub trait DoesNotUnderstand: Send + Sync {
    fn not_understood(
        &self,
        image: Image,
        receiver: Arc<Object>,
        selector: String,
        args: Value,
    ) -> BoxFuture<'_, Result<Value>>;
}

/// The invoker installed until a sandbox is: every method call is a clear error.
pub struct NoInvoker;

impl Invoker for NoInvoker {
    fn invoke(&self, call: Invocation) -> BoxFuture<'_, Result<Value>> {
        Box::pin(async move {
            Err(Error::NoInvoker {
                receiver: call.receiver.name.clone(),
                selector: call.selector,
            })
        })
    }
}

/// The default `doesNotUnderstand`: a structured NotUnderstood error.
pub struct RefuseNotUnderstood;

impl DoesNotUnderstand for RefuseNotUnderstood {
    fn not_understood(
        &self,
        _image: Image,
        receiver: Arc<Object>,
        selector: String,
        _args: Value,
    ) -> BoxFuture<'_, Result<Value>> {
        Box::pin(async move {
            Err(Error::NotUnderstood {
                receiver: receiver.name.clone(),
                selector,
            })
        })
    }
}
