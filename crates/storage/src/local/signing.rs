//! Signed URLs of the local store: an HMAC-SHA256 over what the URL allows, so the gateway can
//! serve the folder to anyone holding a URL without a session.
//!
//! The signed message is one field per line (no field can hold a newline: keys and content types
//! refuse control characters, the rest are digits, hex or fixed words):
//! `lms-media-v1`, op, key, exp, upload id, part number, content type, with absent fields empty.
//! The content type is signed but not in the URL: the PUT must send it as its `Content-Type`,
//! which is how S3 treats a presigned PUT with a content type.

use hmac::{Hmac, Mac};
use kernel::Secret;
use sha2::Sha256;

use crate::StorageError;

type HmacSha256 = Hmac<Sha256>;

/// What a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// GET or HEAD the object.
    Get,
    /// PUT the object.
    Put,
    /// PUT one part of a multipart upload.
    Part,
}

impl Op {
    /// The `op=` value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::Part => "part",
        }
    }

    /// Parses an `op=` value.
    pub(crate) fn parse(s: &str) -> Option<Op> {
        [Op::Get, Op::Put, Op::Part]
            .into_iter()
            .find(|op| op.as_str() == s)
    }
}

/// Everything a signature covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grant<'a> {
    pub op: Op,
    pub key: &'a str,
    /// Expiry, Unix seconds.
    pub exp: u64,
    pub upload_id: Option<&'a str>,
    pub part_number: Option<u32>,
    pub content_type: Option<&'a str>,
}

impl Grant<'_> {
    fn mac(&self, secret: &Secret) -> HmacSha256 {
        // HMAC takes keys of any length, so this arm never runs; it keeps the code panic-free.
        let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        let part = self.part_number.map(|n| n.to_string()).unwrap_or_default();
        let exp = self.exp.to_string();
        let fields = [
            "lms-media-v1",
            self.op.as_str(),
            self.key,
            exp.as_str(),
            self.upload_id.unwrap_or(""),
            part.as_str(),
            self.content_type.unwrap_or(""),
        ];
        mac.update(fields.join("\n").as_bytes());
        mac
    }

    /// The hex signature.
    pub(crate) fn sign(&self, secret: &Secret) -> String {
        hex::encode(self.mac(secret).finalize().into_bytes())
    }

    /// Checks `sig` in constant time, then the expiry against `now` (Unix seconds).
    pub(crate) fn verify(&self, secret: &Secret, sig: &str, now: u64) -> Result<(), StorageError> {
        let sig = hex::decode(sig).map_err(|_| StorageError::BadSignature)?;
        self.mac(secret)
            .verify_slice(&sig)
            .map_err(|_| StorageError::BadSignature)?;
        if now > self.exp {
            return Err(StorageError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant<'static> {
        Grant {
            op: Op::Part,
            key: "courses/1/video.mp4",
            exp: 1_000,
            upload_id: Some("abc"),
            part_number: Some(2),
            content_type: None,
        }
    }

    #[test]
    fn a_signature_verifies_until_it_expires() {
        let secret = Secret::new("k");
        let sig = grant().sign(&secret);
        assert!(grant().verify(&secret, &sig, 1_000).is_ok());
        assert!(matches!(
            grant().verify(&secret, &sig, 1_001),
            Err(StorageError::Expired)
        ));
    }

    #[test]
    fn changing_any_field_breaks_the_signature() {
        let secret = Secret::new("k");
        let sig = grant().sign(&secret);
        let changed = [
            Grant {
                op: Op::Put,
                ..grant()
            },
            Grant {
                key: "courses/1/other.mp4",
                ..grant()
            },
            Grant {
                exp: 2_000,
                ..grant()
            },
            Grant {
                upload_id: Some("abd"),
                ..grant()
            },
            Grant {
                part_number: Some(3),
                ..grant()
            },
            Grant {
                content_type: Some("video/mp4"),
                ..grant()
            },
        ];
        for g in changed {
            assert!(
                matches!(g.verify(&secret, &sig, 0), Err(StorageError::BadSignature)),
                "{g:?}"
            );
        }
        assert!(matches!(
            grant().verify(&Secret::new("other"), &sig, 0),
            Err(StorageError::BadSignature)
        ));
        assert!(matches!(
            grant().verify(&secret, "zz", 0),
            Err(StorageError::BadSignature)
        ));
    }
}
