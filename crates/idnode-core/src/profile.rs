//! The registration material of an enterprise: what the top-level node's `ent:create`
//! needs and what IIIDAP publishes.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Longest text field of a profile, in characters.
pub const MAX_PROFILE_TEXT: usize = 512;
/// Longest base64 image (certificate, legal person's document), in bytes.
pub const MAX_PROFILE_IMAGE: usize = 2 * 1024 * 1024;

/// A contact person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Phone number (`+86.13800000000`).
    pub phone: String,
}

/// The enterprise's legal person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LegalPerson {
    /// Name.
    pub name: String,
    /// Identity document kind (the top-level node's code, e.g. `1` = PRC identity card).
    pub id_type: String,
    /// Document number.
    pub id_no: String,
    /// Image format of `id_img` (`png`, `jpeg`, `bmp`).
    pub id_img_type: String,
    /// Base64 image of the document.
    pub id_img: String,
}

/// Registration material of an enterprise (the fields of `ent:create`). Every field may be
/// empty except the ones [`EnterpriseProfile::validate`] requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnterpriseProfile {
    /// Enterprise type code (government office, institution, … per the top-level node).
    pub ent_type: String,
    /// Unified Social Credit Code: 18 digits or upper-case letters.
    pub credit_code: String,
    /// Image format of `cert_img`.
    pub cert_img_type: String,
    /// Base64 image of the business licence.
    pub cert_img: String,
    /// Chinese name (defaults to the enterprise's display name).
    pub name_cn: String,
    /// Province code (GB/T 2260).
    pub province: String,
    /// City code (GB/T 2260).
    pub city: String,
    /// County code (GB/T 2260).
    pub county: String,
    /// Chinese postal address.
    pub addr_cn: String,
    /// English name.
    pub name_en: String,
    /// English address.
    pub addr_en: String,
    /// Web site.
    pub website: String,
    /// Short description.
    pub description: String,
    /// Industry nature (IIIDAP `nature`).
    pub nature: String,
    /// Contact person.
    pub contact: Contact,
    /// Legal person.
    pub legal_person: LegalPerson,
}

impl EnterpriseProfile {
    /// Checks sizes and the credit code's form (when given).
    pub fn validate(&self) -> Result<(), CoreError> {
        let texts = [
            ("ent_type", &self.ent_type),
            ("credit_code", &self.credit_code),
            ("cert_img_type", &self.cert_img_type),
            ("name_cn", &self.name_cn),
            ("province", &self.province),
            ("city", &self.city),
            ("county", &self.county),
            ("addr_cn", &self.addr_cn),
            ("name_en", &self.name_en),
            ("addr_en", &self.addr_en),
            ("website", &self.website),
            ("description", &self.description),
            ("nature", &self.nature),
            ("contact.name", &self.contact.name),
            ("contact.email", &self.contact.email),
            ("contact.phone", &self.contact.phone),
            ("legal_person.name", &self.legal_person.name),
            ("legal_person.id_type", &self.legal_person.id_type),
            ("legal_person.id_no", &self.legal_person.id_no),
            ("legal_person.id_img_type", &self.legal_person.id_img_type),
        ];
        for (field, text) in texts {
            if text.chars().count() > MAX_PROFILE_TEXT || text.chars().any(char::is_control) {
                return Err(CoreError::Profile(format!(
                    "{field}: at most {MAX_PROFILE_TEXT} printable characters"
                )));
            }
        }
        for (field, img) in [
            ("cert_img", &self.cert_img),
            ("legal_person.id_img", &self.legal_person.id_img),
        ] {
            if img.len() > MAX_PROFILE_IMAGE
                || !img
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                return Err(CoreError::Profile(format!(
                    "{field}: base64, at most {MAX_PROFILE_IMAGE} bytes"
                )));
            }
        }
        let code_ok = self.credit_code.len() == 18
            && self
                .credit_code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if !self.credit_code.is_empty() && !code_ok {
            return Err(CoreError::Profile(
                "credit_code: 18 digits or upper-case letters".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_credit_code_and_sizes() {
        let mut p = EnterpriseProfile {
            credit_code: "91500000MA5U0000X1".into(),
            ..Default::default()
        };
        assert!(p.validate().is_ok());
        p.credit_code = "9150".into();
        assert!(p.validate().is_err());
        p.credit_code.clear();
        p.addr_cn = "x".repeat(MAX_PROFILE_TEXT + 1);
        assert!(p.validate().is_err());
        p.addr_cn.clear();
        p.cert_img = "not base64!".into();
        assert!(p.validate().is_err());
    }

    #[test]
    fn json_rejects_unknown_fields() {
        assert!(serde_json::from_str::<EnterpriseProfile>(r#"{"credit_code":"x"}"#).is_ok());
        assert!(serde_json::from_str::<EnterpriseProfile>(r#"{"creditcode":"x"}"#).is_err());
    }
}
