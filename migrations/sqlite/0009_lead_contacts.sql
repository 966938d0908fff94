-- One open lead per e-mail address and per phone number, reserved before the lead's first event
-- is written, so two captures of one person at the same moment cannot both pass. Only keyed
-- blind indexes (HMAC) are stored, never the address or number. A reservation whose lead was
-- archived or erased, changed that contact, or never got captured is taken over by the next
-- capture; an erasure deletes the lead's reservations.
CREATE TABLE lead_contacts
(
    contact_index text PRIMARY KEY,
    lead_id       text NOT NULL,
    created_at    text NOT NULL
);
CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);
