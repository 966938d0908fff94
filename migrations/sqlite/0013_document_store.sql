-- Where this store keeps its KYC document files (`database`, or the `s3://bucket/prefix` of a
-- bucket), recorded the first time it is opened: a process started with another setting is
-- refused, rather than look for files where they are not, or purge and erase in the wrong place.
CREATE TABLE document_store
(
    id       integer PRIMARY KEY CHECK (id = 1),
    location text    NOT NULL
);
