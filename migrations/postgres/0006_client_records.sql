-- One client per PAN, reserved before the client's first event is written. The PAN itself is
-- never stored: only its keyed blind index (HMAC), which finds a duplicate without revealing it.
-- The reservation is given back when the client's data is erased.
CREATE TABLE client_pans
(
    pan_index  text PRIMARY KEY,
    client_id  text NOT NULL UNIQUE,
    created_at text NOT NULL
);

-- The files of clients' KYC documents, sealed with the client's key (nonce and AES-256-GCM
-- ciphertext). The log records what each file is and its sha256; a purge or an erasure deletes
-- the row, and a destroyed key leaves any copy unreadable.
CREATE TABLE client_documents
(
    document_id text PRIMARY KEY,
    client_id   text NOT NULL,
    content     bytea NOT NULL,
    created_at  text NOT NULL
);
CREATE INDEX client_documents_client ON client_documents (client_id);
