-- Run once by the postgres image on an empty volume: one database for each Orthanc index; the
-- bridge's own state lives in the image's POSTGRES_DB ("bridge"), and the bridge creates its tables.
CREATE DATABASE orthanc_clinical;
CREATE DATABASE orthanc_research;
