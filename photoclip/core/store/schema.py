"""The catalog's schema: each migration from version i to i+1 (SQL, plus a Python step
where SQL alone cannot do it), the triggers that guard what users made, and the rule that
ids of user rows are never reused. Never edit a released migration: append a new one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from photoclip.core import names
from photoclip.core.errors import PhotoclipError

# Each entry migrates from version i to i+1. Never edit a released entry: append a new one.
MIGRATIONS: list[str] = [
    # 0 -> 1: folders, photos, embeddings, meta
    """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE folders(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL,
        online INTEGER NOT NULL DEFAULT 1,
        last_scan REAL
    );

    CREATE TABLE photos(
        id INTEGER PRIMARY KEY,
        folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,                       -- ISO 8601 local time: EXIF capture date, else mtime
        taken_from_exif INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        added_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX photos_folder ON photos(folder_id);
    CREATE INDEX photos_hash ON photos(content_hash);
    CREATE INDEX photos_taken ON photos(taken_at);

    -- One vector per photo and model: switching models keeps the old vectors.
    CREATE TABLE embeddings(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,                -- float32, L2-normalised
        PRIMARY KEY (photo_id, model)
    ) WITHOUT ROWID;
    CREATE INDEX embeddings_model ON embeddings(model);
    """,
    # 1 -> 2: a revision per stored vector, so an index saved before a vector changed can tell
    # (a crash between commit and index save left stale vectors that a load never noticed);
    # the device a folder was last seen on, so an unmounted drive is not read as "all deleted".
    """
    ALTER TABLE embeddings ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX embeddings_rev ON embeddings(model, rev);
    INSERT OR REPLACE INTO meta(key, value) VALUES ('embedding_rev', '0');
    INSERT OR REPLACE INTO meta(key, value) VALUES ('catalog_id', lower(hex(randomblob(16))));
    -- a deleted vector moves the revision on too: an unchanged revision means nothing changed
    CREATE TRIGGER embeddings_deleted AFTER DELETE ON embeddings BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'embedding_rev';
    END;
    ALTER TABLE folders ADD COLUMN device INTEGER;
    """,
    # 2 -> 3: tag sets (core/tags; their SQL: core/store/tags.py; the SQL below is as
    # released). A tag is a label of a set or, with no set, a free keyword
    # (typed by the user or imported from XMP). A photo's tag is 'auto' (with the set's
    # confidence and the model it came from), 'manual', or 'removed': a tombstone, so that no
    # re-apply, threshold or model change brings back a tag the user took off.
    """
    CREATE TABLE tagsets(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        exclusive INTEGER NOT NULL DEFAULT 0,
        context TEXT NOT NULL DEFAULT '',     -- a prompt with {} for the label, or ''
        threshold REAL NOT NULL,              -- default strictness of its labels (see tagsets.py)
        created_at REAL NOT NULL
    );
    CREATE TABLE tags(
        id INTEGER PRIMARY KEY,
        tagset_id INTEGER REFERENCES tagsets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        synonyms TEXT NOT NULL DEFAULT '[]',  -- JSON: other names, put through the templates
        prompts TEXT NOT NULL DEFAULT '[]',   -- JSON: whole sentences, used as they are
        threshold REAL,                       -- NULL: the set's
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX tags_name ON tags(ifnull(tagset_id, 0), name COLLATE NOCASE);
    -- where a set is applied ('' = the whole library) and how far it has tagged, per model
    CREATE TABLE tag_scopes(
        tagset_id INTEGER NOT NULL REFERENCES tagsets(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        PRIMARY KEY (tagset_id, folder)
    ) WITHOUT ROWID;
    CREATE TABLE tag_progress(
        tagset_id INTEGER NOT NULL REFERENCES tagsets(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        rev INTEGER NOT NULL,                 -- embeddings up to this revision are tagged
        PRIMARY KEY (tagset_id, model)
    ) WITHOUT ROWID;
    -- text vectors, encoded once per wording and model: a label's, and the "none of these"
    -- vocabulary's (tag_id NULL)
    CREATE TABLE tag_vectors(
        tag_id INTEGER REFERENCES tags(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        prompts_key TEXT NOT NULL,            -- what the vectors were made from
        vectors BLOB NOT NULL                 -- float32, one row per vector
    );
    CREATE UNIQUE INDEX tag_vectors_key ON tag_vectors(ifnull(tag_id, 0), model);
    CREATE TABLE photo_tags(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        source TEXT NOT NULL CHECK (source IN ('auto', 'manual', 'removed')),
        confidence REAL,
        model TEXT,
        PRIMARY KEY (photo_id, tag_id)
    ) WITHOUT ROWID;
    CREATE INDEX photo_tags_tag ON photo_tags(tag_id, source, confidence);
    """,
    # 3 -> 4: vectors in a rowid table. In the WITHOUT ROWID table keyed (photo, model), every
    # "all vectors of this model" read (index rebuilds, tagging) went through the model index
    # into the key's b-tree: 1.1 s for 100k vectors, against 0.3 s for the same rows stored in
    # insertion order.
    """
    CREATE TABLE embeddings_v4(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,                -- float32, L2-normalised
        rev INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO embeddings_v4(photo_id, model, vector, rev)
        SELECT photo_id, model, vector, rev FROM embeddings ORDER BY model, photo_id;
    DROP TABLE embeddings;
    ALTER TABLE embeddings_v4 RENAME TO embeddings;
    CREATE UNIQUE INDEX embeddings_key ON embeddings(photo_id, model);
    CREATE INDEX embeddings_rev ON embeddings(model, rev);
    CREATE TRIGGER embeddings_deleted AFTER DELETE ON embeddings BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'embedding_rev';
    END;
    """,
    # 4 -> 5: user categories (categories.py). Labels belong to photos (they follow moves and
    # outlive a model switch); a probe is stored per category and model with the label
    # revision it was trained on, so a restart does not retrain.
    """
    CREATE TABLE categories(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        description TEXT NOT NULL DEFAULT '',
        threshold REAL NOT NULL,              -- membership probability
        labels_rev INTEGER NOT NULL DEFAULT 0, -- moves on with every change of labels or name
        created_at REAL NOT NULL
    );
    CREATE TABLE category_labels(
        category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        positive INTEGER NOT NULL,            -- 1: in the category, 0: not in it
        added_at REAL NOT NULL,
        PRIMARY KEY (category_id, photo_id)
    ) WITHOUT ROWID;
    CREATE INDEX category_labels_photo ON category_labels(photo_id);
    CREATE TABLE category_probes(
        category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        labels_rev INTEGER NOT NULL,          -- the labels it was trained on
        weights BLOB NOT NULL,                -- float32 rows: w, cached examples, cached rejections
        examples INTEGER NOT NULL,            -- how many cached examples (the rest: rejections)
        bias REAL NOT NULL,
        trust REAL NOT NULL,                  -- how much the name was used (0..1)
        quality TEXT,                         -- JSON (categories.Quality), once estimated
        trained_at REAL NOT NULL,
        PRIMARY KEY (category_id, model)
    ) WITHOUT ROWID;
    """,
    # 5 -> 6: what users made is guarded (recovery.py, userdata.py).
    # - Names are compared by a Unicode case-folded key (names.py): NOCASE folds ASCII only.
    # - A photo row that goes (folder removed, file deleted) leaves its manual tags, removals
    #   and category examples in kept_* by content: they come back when the photo does.
    # - Ids of sets, labels and categories are never reused (a tagging run that outlived its
    #   set must not write into a newer one): the highest id ever deleted is remembered.
    # - user_rev moves on with every change to user-made rows: a user-data snapshot is taken
    #   when it moved.
    # - A photo's inode tells identical copies apart when one is renamed.
    """
    ALTER TABLE photos ADD COLUMN inode INTEGER;
    ALTER TABLE tagsets ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE tagsets ADD COLUMN problem TEXT;   -- why it could not tag photos last time
    ALTER TABLE tags ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE categories ADD COLUMN name_key TEXT NOT NULL DEFAULT '';

    CREATE TABLE kept_tags(
        content_hash TEXT NOT NULL,          -- '' for a photo that was never read
        path TEXT NOT NULL,                  -- where it was (preferred when copies return)
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        source TEXT NOT NULL CHECK (source IN ('manual', 'removed')),
        kept_at REAL NOT NULL,
        PRIMARY KEY (content_hash, path, tag_id)
    ) WITHOUT ROWID;
    CREATE TABLE kept_examples(
        content_hash TEXT NOT NULL,
        path TEXT NOT NULL,
        category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        positive INTEGER NOT NULL,
        added_at REAL NOT NULL,
        kept_at REAL NOT NULL,
        PRIMARY KEY (content_hash, path, category_id)
    ) WITHOUT ROWID;
    CREATE INDEX kept_tags_path ON kept_tags(path);
    CREATE INDEX kept_examples_path ON kept_examples(path);

    CREATE TRIGGER photos_keep_user_data BEFORE DELETE ON photos BEGIN
        INSERT OR REPLACE INTO kept_tags(content_hash, path, tag_id, source, kept_at)
            SELECT ifnull(old.content_hash, ''), old.path, tag_id, source,
                   (julianday('now') - 2440587.5) * 86400.0
            FROM photo_tags WHERE photo_id = old.id AND source != 'auto';
        INSERT OR REPLACE INTO kept_examples(content_hash, path, category_id, positive,
                                             added_at, kept_at)
            SELECT ifnull(old.content_hash, ''), old.path, category_id, positive, added_at,
                   (julianday('now') - 2440587.5) * 86400.0
            FROM category_labels WHERE photo_id = old.id;
    END;

    INSERT OR REPLACE INTO meta(key, value) VALUES ('user_rev', '0');
    """,
    # 6 -> 7: RAW + JPEG pairs are one photo: the row of the file shown (the JPEG) names the
    # RAW beside it, which has no row of its own (sidecars are written for both files).
    """
    ALTER TABLE photos ADD COLUMN companion TEXT;
    CREATE INDEX photos_companion ON photos(companion) WHERE companion IS NOT NULL;
    """,
    # 7 -> 8: duplicates (core/duplicates; their SQL: core/store/duplicates.py). A photo's
    # perceptual hash, computed by the indexer from the image it decodes anyway (NULL until
    # then: the duplicate finder fills it in for photos indexed before). What the user decided
    # of a group is kept so it never comes back: photos marked as duplicates of another, and
    # pairs the user said are not duplicates. Each resolution is recorded (JSON: the files
    # trashed, what the kept photo inherited) so that the last one can be undone.
    """
    ALTER TABLE photos ADD COLUMN phash INTEGER;
    CREATE TABLE duplicate_resolutions(
        id INTEGER PRIMARY KEY,
        resolved_at REAL NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('trash', 'mark', 'distinct')),
        record TEXT NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE duplicate_marks(
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        kept_id INTEGER REFERENCES photos(id) ON DELETE SET NULL,
        resolution_id INTEGER NOT NULL REFERENCES duplicate_resolutions(id) ON DELETE CASCADE
    );
    CREATE TABLE duplicate_distinct(
        a INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        resolution_id INTEGER NOT NULL REFERENCES duplicate_resolutions(id) ON DELETE CASCADE,
        PRIMARY KEY (a, b)
    ) WITHOUT ROWID;
    """,
    # 8 -> 9: browsing reads the library newest first a page at a time and counts its months
    # (core/search/browse.py): over this index, which holds just the photos shown, both read
    # the index alone (a month's count at a million photos without visiting a row). The
    # failed photos get one of their own: the status counts (photos shown, failed, waiting to
    # be indexed) are then counts of indexes, not scans of every photo (2.3 s at a million).
    """
    CREATE INDEX photos_browse ON photos(taken_at) WHERE status = 'ok';
    CREATE INDEX photos_failed ON photos(id) WHERE status = 'failed';
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

# Tables whose ids are never reused, and the user-made tables whose changes move user_rev.
NO_REUSE = ("tagsets", "tags", "categories")
_USER_TABLES = {
    "folders": "", "tagsets": "", "tags": "", "tag_scopes": "", "categories": "",
    "category_labels": "", "kept_tags": "", "kept_examples": "",
    "photo_tags": "{row}.source != 'auto'",
}


def _guard_triggers() -> str:
    """The triggers of migration 6 that are written out per table (see its comment)."""
    out = []
    for table in NO_REUSE:
        out.append(f"""
        CREATE TRIGGER {table}_no_reuse AFTER DELETE ON {table} BEGIN
            INSERT INTO meta(key, value) VALUES ('{table}_max_id', old.id)
            ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), old.id);
        END;""")
    bump = ("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'user_rev';")
    for table, cond in _USER_TABLES.items():
        for event, rows in (("INSERT", ("new",)), ("UPDATE", ("new", "old")),
                            ("DELETE", ("old",))):
            when = ""
            if cond:
                when = "WHEN " + " OR ".join(cond.format(row=r) for r in rows)
            of = " OF path" if table == "folders" and event == "UPDATE" else ""  # (not scans)
            out.append(f"""
        CREATE TRIGGER {table}_user_{event.lower()} AFTER {event}{of} ON {table} {when} BEGIN
            {bump}
        END;""")
    return "\n".join(out)


MIGRATIONS[5] += _guard_triggers()


def fill_name_keys(conn: sqlite3.Connection) -> None:
    """Give every set, label, keyword and category its name key (names.key), and make names
    unique by it: a second name that differs only in (Unicode) case — which SQLite's NOCASE
    let in — is renamed "name (2)" rather than left unreachable. Also cleans stored names
    (control characters, new lines). Part of migration 6; a repair runs it again."""
    groups = (("tagsets", "0"), ("tags", "ifnull(tagset_id, 0)"), ("categories", "0"))
    for table, scope in groups:
        taken: dict[tuple[int, str], int] = {}
        rows = conn.execute(f"SELECT id, name, {scope} FROM {table} ORDER BY id").fetchall()
        for row_id, name, group in rows:
            try:
                new = names.clean(name)
            except PhotoclipError:
                new = f"unnamed {row_id}"
            base, n = new, 1
            while (group, names.key(new)) in taken:
                n += 1
                new = f"{base} ({n})"
            taken[(group, names.key(new))] = row_id
            conn.execute(f"UPDATE {table} SET name=?, name_key=? WHERE id=?",
                         (new, names.key(new), row_id))
    # (one statement at a time: executescript would commit the migration's transaction)
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS tagsets_key ON tagsets(name_key)")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS tags_key "
                 "ON tags(ifnull(tagset_id, 0), name_key)")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS categories_key ON categories(name_key)")
    conn.execute("CREATE INDEX IF NOT EXISTS tags_by_key ON tags(name_key, tagset_id)")


def new_id(tx: sqlite3.Connection, table: str) -> int:
    """The id for a new row of ``table`` (one of NO_REUSE): above every id it ever had."""
    r = tx.execute(f"SELECT max(coalesce((SELECT max(id) FROM {table}), 0), "
                   f"coalesce((SELECT CAST(value AS INTEGER) FROM meta "
                   f"WHERE key='{table}_max_id'), 0))").fetchone()
    return int(r[0]) + 1


PYTHON_STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {6: fill_name_keys}
