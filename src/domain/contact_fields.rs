//! Validation of the contact fields people type (the Contacts screen, the API, CSV import):
//! one rule for each, so every door refuses the same input with the same message.

use crate::error::{AppError, AppResult};

/// Normalises a phone number typed by a person to E.164 (`+` and 8 to 15 digits, first digit
/// not 0), the form `contacts.phone_number` stores. Spaces, dashes, dots and parentheses
/// between the digits are dropped; the leading `+` is required, as Chatwoot requires it
/// (ITU-T E.164: at most 15 digits; Chatwoot: contacts#create "phone_number should be in
/// e164 format").
///
/// Errors: 422 naming `field` with a sentence that shows the expected form.
pub fn normalize_phone(field: &str, raw: &str) -> AppResult<String> {
    let raw = raw.trim();
    let fail = || {
        AppError::invalid(
            field,
            format!(
                "{raw:?} is not a phone number in international (E.164) form, such as +14155550123"
            ),
        )
    };
    let rest = raw.strip_prefix('+').ok_or_else(fail)?;
    let mut digits = String::with_capacity(15);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(fail()),
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(fail());
    }
    Ok(format!("+{digits}"))
}

/// Normalises an email typed for a contact: trimmed and lowercased. Errors: 422 naming
/// `email` unless it looks like `local@domain.tld` without spaces (the rule users' emails
/// follow, [`crate::domain::accounts::normalize_email`]).
pub fn normalize_email(raw: &str) -> AppResult<String> {
    crate::domain::accounts::normalize_email(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalised_or_refused() {
        assert_eq!(
            normalize_phone("phone_number", " +1 (650) 555-1234 ").unwrap(),
            "+16505551234"
        );
        assert_eq!(
            normalize_phone("phone_number", "+971.50.123.4567").unwrap(),
            "+971501234567"
        );
        for bad in [
            "16505551234",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            "+1650555x234",
            "",
        ] {
            let err = normalize_phone("phone_number", bad).unwrap_err();
            assert!(format!("{err:?}").contains("E.164"), "{bad}: {err:?}");
        }
    }

    #[test]
    fn emails_are_lowercased_or_refused() {
        assert_eq!(
            normalize_email(" Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        assert!(normalize_email("not an email").is_err());
    }
}
