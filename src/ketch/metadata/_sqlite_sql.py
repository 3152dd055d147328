"""The metadata schema and write statements in SQLite's SQL, for `SqliteRecordWriter`.

Generated from ``_schema`` and ``_statements`` by ``python -m ketch.metadata._sqlite_gen``: do
not edit by hand (``tests/metadata/test_sqlite_writer.py`` checks that it is up to date).
"""

# fmt: off

SCHEMA_VERSION = 1

CREATE_SCHEMA = (
    (
        'CREATE TABLE flows ( flow_name VARCHAR NOT NULL, created_at DOUBLE NOT NULL, PRIMARY'
        ' KEY (flow_name) )'
    ),
    'CREATE TABLE ketch_schema_version ( version INTEGER NOT NULL )',
    (
        'CREATE TABLE runs ( run_id BIGINT NOT NULL, flow_name VARCHAR NOT NULL, user_name '
        'VARCHAR NOT NULL, status VARCHAR(16) NOT NULL, created_at DOUBLE NOT NULL, '
        'finished_at DOUBLE, heartbeat_at DOUBLE, origin_run_id BIGINT, code_key VARCHAR, '
        'graph_key VARCHAR, scheduler_pid INTEGER, hostname VARCHAR, PRIMARY KEY (run_id), '
        'FOREIGN KEY(flow_name) REFERENCES flows (flow_name) )'
    ),
    'CREATE INDEX ix_runs_flow ON runs (flow_name, run_id)',
    (
        'CREATE TABLE parameters ( run_id BIGINT NOT NULL, name VARCHAR NOT NULL, position '
        'INTEGER NOT NULL, value_json TEXT NOT NULL, blob_key VARCHAR NOT NULL, PRIMARY KEY '
        '(run_id, name), FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE '
        'DEFERRABLE INITIALLY DEFERRED )'
    ),
    (
        'CREATE TABLE run_tags ( run_id BIGINT NOT NULL, tag VARCHAR NOT NULL, is_system '
        'BOOLEAN NOT NULL, PRIMARY KEY (run_id, tag), FOREIGN KEY(run_id) REFERENCES runs '
        '(run_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED )'
    ),
    'CREATE INDEX ix_run_tags_tag ON run_tags (tag, run_id)',
    (
        'CREATE TABLE steps ( run_id BIGINT NOT NULL, step_name VARCHAR NOT NULL, created_at '
        'DOUBLE NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (run_id, step_name), FOREIGN'
        ' KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE DEFERRABLE INITIALLY '
        'DEFERRED )'
    ),
    (
        'CREATE TABLE tasks ( run_id BIGINT NOT NULL, task_id INTEGER NOT NULL, step_name '
        'VARCHAR NOT NULL, status VARCHAR(16) NOT NULL, created_at DOUBLE NOT NULL, '
        'finished_at DOUBLE, attempt INTEGER NOT NULL, foreach_stack TEXT NOT NULL, '
        'foreach_order VARCHAR NOT NULL, origin_run_id BIGINT, origin_task_id INTEGER, '
        'input_task_ids TEXT NOT NULL, PRIMARY KEY (run_id, task_id), FOREIGN KEY(run_id) '
        'REFERENCES runs (run_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED )'
    ),
    'CREATE INDEX ix_tasks_run_step ON tasks (run_id, step_name, foreach_order, task_id)',
    (
        'CREATE TABLE artifacts ( run_id BIGINT NOT NULL, task_id INTEGER NOT NULL, attempt '
        'INTEGER NOT NULL, name VARCHAR NOT NULL, blob_key VARCHAR NOT NULL, type_name '
        'VARCHAR NOT NULL, size BIGINT NOT NULL, encoding VARCHAR NOT NULL, PRIMARY KEY '
        '(run_id, task_id, attempt, name), FOREIGN KEY(run_id, task_id) REFERENCES tasks '
        '(run_id, task_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED )'
    ),
    'CREATE INDEX ix_artifacts_blob_key ON artifacts (blob_key)',
    (
        'CREATE TABLE attempts ( run_id BIGINT NOT NULL, task_id INTEGER NOT NULL, attempt '
        'INTEGER NOT NULL, status VARCHAR(16) NOT NULL, started_at DOUBLE NOT NULL, '
        'finished_at DOUBLE, exit_code INTEGER, exception TEXT, traceback TEXT, stdout_key '
        'VARCHAR, stderr_key VARCHAR, pid INTEGER, PRIMARY KEY (run_id, task_id, attempt), '
        'FOREIGN KEY(run_id, task_id) REFERENCES tasks (run_id, task_id) ON DELETE CASCADE '
        'DEFERRABLE INITIALLY DEFERRED )'
    ),
)

INSERT_VERSION = 'INSERT INTO ketch_schema_version (version) VALUES (:version)'

INSERT_FLOW = (
    'INSERT INTO flows (flow_name, created_at) VALUES (:flow_name, :created_at) ON '
    'CONFLICT (flow_name) DO NOTHING'
)

INSERT_RUN = (
    'INSERT INTO runs (run_id, flow_name, user_name, status, created_at, finished_at, '
    'heartbeat_at, origin_run_id, code_key, graph_key, scheduler_pid, hostname) VALUES '
    '(:run_id, :flow_name, :user_name, :status, :created_at, :finished_at, :heartbeat_at,'
    ' :origin_run_id, :code_key, :graph_key, :scheduler_pid, :hostname)'
)

INSERT_TAG = (
    'INSERT INTO run_tags (run_id, tag, is_system) VALUES (:run_id, :tag, :is_system) ON '
    'CONFLICT (run_id, tag) DO NOTHING'
)

RUN_EXISTS = 'SELECT runs.run_id FROM runs WHERE runs.run_id = :run_id'

DELETE_PARAMETERS = 'DELETE FROM parameters WHERE parameters.run_id = :run_id'

INSERT_PARAMETER = (
    'INSERT INTO parameters (run_id, name, position, value_json, blob_key) VALUES '
    '(:run_id, :name, :position, :value_json, :blob_key)'
)

SET_CODE_KEY = 'UPDATE runs SET code_key=:code_key WHERE runs.run_id = :run_id'

SET_GRAPH_KEY = 'UPDATE runs SET graph_key=:graph_key WHERE runs.run_id = :run_id'

SET_HEARTBEAT = 'UPDATE runs SET heartbeat_at=:heartbeat_at WHERE runs.run_id = :run_id'

FINISH_RUN = 'UPDATE runs SET status=:status, finished_at=:finished_at WHERE runs.run_id = :run_id'

INSERT_STEP = (
    'INSERT INTO steps (run_id, step_name, created_at, position) SELECT :run_id AS '
    'anon_1, :step_name AS anon_2, :created_at AS anon_3, coalesce(max(steps.position), '
    '-1) + 1 AS anon_4 FROM steps WHERE steps.run_id = :run_id ON CONFLICT (run_id, '
    'step_name) DO NOTHING'
)

UPSERT_TASK = (
    'INSERT INTO tasks (run_id, task_id, step_name, status, created_at, finished_at, '
    'attempt, foreach_stack, foreach_order, origin_run_id, origin_task_id, '
    'input_task_ids) VALUES (:run_id, :task_id, :step_name, :status, :created_at, '
    ':finished_at, :attempt, :foreach_stack, :foreach_order, :origin_run_id, '
    ':origin_task_id, :input_task_ids) ON CONFLICT (run_id, task_id) DO UPDATE SET '
    'step_name = excluded.step_name, status = excluded.status, created_at = '
    'excluded.created_at, finished_at = excluded.finished_at, attempt = excluded.attempt,'
    ' foreach_stack = excluded.foreach_stack, foreach_order = excluded.foreach_order, '
    'origin_run_id = excluded.origin_run_id, origin_task_id = excluded.origin_task_id, '
    'input_task_ids = excluded.input_task_ids'
)

UPSERT_ATTEMPT = (
    'INSERT INTO attempts (run_id, task_id, attempt, status, started_at, finished_at, '
    'exit_code, exception, traceback, stdout_key, stderr_key, pid) VALUES (:run_id, '
    ':task_id, :attempt, :status, :started_at, :finished_at, :exit_code, :exception, '
    ':traceback, :stdout_key, :stderr_key, :pid) ON CONFLICT (run_id, task_id, attempt) '
    'DO UPDATE SET status = excluded.status, started_at = excluded.started_at, '
    'finished_at = excluded.finished_at, exit_code = excluded.exit_code, exception = '
    'excluded.exception, traceback = excluded.traceback, stdout_key = '
    'excluded.stdout_key, stderr_key = excluded.stderr_key, pid = excluded.pid'
)

UPSERT_ARTIFACT = (
    'INSERT INTO artifacts (run_id, task_id, attempt, name, blob_key, type_name, size, '
    'encoding) VALUES (:run_id, :task_id, :attempt, :name, :blob_key, :type_name, :size, '
    ':encoding) ON CONFLICT (run_id, task_id, attempt, name) DO UPDATE SET blob_key = '
    'excluded.blob_key, type_name = excluded.type_name, size = excluded.size, encoding = '
    'excluded.encoding'
)
