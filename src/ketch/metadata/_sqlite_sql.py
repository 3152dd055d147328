"""The metadata schema, write statements and read queries in SQLite's SQL, for
`SqliteStore`.

Generated from ``_schema``, ``_statements`` and ``_queries`` by
``python -m ketch.metadata._sqlite_gen``: do not edit by hand
(``tests/metadata/test_sqlite_store.py`` checks that it is up to date).
"""

# fmt: off

SCHEMA_VERSION = 6

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
        'graph_key VARCHAR, scheduler_pid INTEGER, hostname VARCHAR, datastore_url VARCHAR, '
        'PRIMARY KEY (run_id), FOREIGN KEY(flow_name) REFERENCES flows (flow_name) )'
    ),
    'CREATE INDEX ix_runs_flow ON runs (flow_name, run_id)',
    (
        'CREATE TABLE parameters ( run_id BIGINT NOT NULL, name VARCHAR NOT NULL, position '
        'INTEGER NOT NULL, value_json TEXT NOT NULL, blob_key VARCHAR NOT NULL, PRIMARY KEY '
        '(run_id, name), FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE '
        'DEFERRABLE INITIALLY DEFERRED )'
    ),
    (
        'CREATE TABLE run_links ( run_id BIGINT NOT NULL, tracker VARCHAR NOT NULL, '
        'external_id VARCHAR NOT NULL, url VARCHAR NOT NULL, created_at DOUBLE NOT NULL, '
        'PRIMARY KEY (run_id, tracker), FOREIGN KEY(run_id) REFERENCES runs (run_id) ON '
        'DELETE CASCADE DEFERRABLE INITIALLY DEFERRED )'
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
        'CREATE INDEX ix_tasks_run_step_duration ON tasks (run_id, step_name, finished_at - '
        'created_at)'
    ),
    (
        'CREATE INDEX ix_tasks_run_step_status ON tasks (run_id, step_name, status, '
        'created_at, finished_at)'
    ),
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
        'VARCHAR, stderr_key VARCHAR, pid INTEGER, node VARCHAR, PRIMARY KEY (run_id, '
        'task_id, attempt), FOREIGN KEY(run_id, task_id) REFERENCES tasks (run_id, task_id) '
        'ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED )'
    ),
    (
        'CREATE TABLE metrics ( run_id BIGINT NOT NULL, task_id INTEGER NOT NULL, attempt '
        'INTEGER NOT NULL, seq INTEGER NOT NULL, step_name VARCHAR NOT NULL, name VARCHAR NOT'
        ' NULL, metric_step BIGINT, value DOUBLE, logged_at DOUBLE NOT NULL, PRIMARY KEY '
        '(run_id, task_id, attempt, seq), FOREIGN KEY(run_id, task_id) REFERENCES tasks '
        '(run_id, task_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED )'
    ),
)

INSERT_VERSION = 'INSERT INTO ketch_schema_version (version) VALUES (:version)'

WRITES = {
    'insert_flow': (
        'INSERT INTO flows (flow_name, created_at) VALUES (:flow_name, :created_at) ON '
        'CONFLICT (flow_name) DO NOTHING'
    ),
    'insert_run': (
        'INSERT INTO runs (run_id, flow_name, user_name, status, created_at, finished_at, '
        'heartbeat_at, origin_run_id, code_key, graph_key, scheduler_pid, hostname, '
        'datastore_url) VALUES (:run_id, :flow_name, :user_name, :status, :created_at, '
        ':finished_at, :heartbeat_at, :origin_run_id, :code_key, :graph_key, :scheduler_pid, '
        ':hostname, :datastore_url)'
    ),
    'insert_tag': (
        'INSERT INTO run_tags (run_id, tag, is_system) VALUES (:run_id, :tag, :is_system) ON '
        'CONFLICT (run_id, tag) DO NOTHING'
    ),
    'delete_user_tag': (
        'DELETE FROM run_tags WHERE run_tags.run_id = :run_id AND run_tags.tag = :tag AND '
        'run_tags.is_system IS 0'
    ),
    'delete_parameters': 'DELETE FROM parameters WHERE parameters.run_id = :run_id',
    'insert_parameter': (
        'INSERT INTO parameters (run_id, name, position, value_json, blob_key) VALUES '
        '(:run_id, :name, :position, :value_json, :blob_key)'
    ),
    'set_code_key': 'UPDATE runs SET code_key=:code_key WHERE runs.run_id = :b_run_id',
    'set_graph_key': 'UPDATE runs SET graph_key=:graph_key WHERE runs.run_id = :b_run_id',
    'set_heartbeat': 'UPDATE runs SET heartbeat_at=:heartbeat_at WHERE runs.run_id = :b_run_id',
    'finish_run': (
        'UPDATE runs SET status=:status, finished_at=:finished_at WHERE runs.run_id = '
        ':b_run_id'
    ),
    'insert_step': (
        'INSERT INTO steps (run_id, step_name, created_at, position) SELECT :run_id AS '
        'anon_1, :step_name AS anon_2, :created_at AS anon_3, coalesce(max(steps.position), '
        '-1) + 1 AS anon_4 FROM steps WHERE steps.run_id = :run_id ON CONFLICT (run_id, '
        'step_name) DO NOTHING'
    ),
    'upsert_task': (
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
    ),
    'upsert_attempt': (
        'INSERT INTO attempts (run_id, task_id, attempt, status, started_at, finished_at, '
        'exit_code, exception, traceback, stdout_key, stderr_key, pid, node) VALUES (:run_id,'
        ' :task_id, :attempt, :status, :started_at, :finished_at, :exit_code, :exception, '
        ':traceback, :stdout_key, :stderr_key, :pid, :node) ON CONFLICT (run_id, task_id, '
        'attempt) DO UPDATE SET status = excluded.status, started_at = excluded.started_at, '
        'finished_at = excluded.finished_at, exit_code = excluded.exit_code, exception = '
        'excluded.exception, traceback = excluded.traceback, stdout_key = '
        'excluded.stdout_key, stderr_key = excluded.stderr_key, pid = excluded.pid, node = '
        'excluded.node'
    ),
    'upsert_artifact': (
        'INSERT INTO artifacts (run_id, task_id, attempt, name, blob_key, type_name, size, '
        'encoding) VALUES (:run_id, :task_id, :attempt, :name, :blob_key, :type_name, :size, '
        ':encoding) ON CONFLICT (run_id, task_id, attempt, name) DO UPDATE SET blob_key = '
        'excluded.blob_key, type_name = excluded.type_name, size = excluded.size, encoding = '
        'excluded.encoding'
    ),
    'upsert_metric': (
        'INSERT INTO metrics (run_id, task_id, attempt, seq, step_name, name, metric_step, '
        'value, logged_at) VALUES (:run_id, :task_id, :attempt, :seq, :step_name, :name, '
        ':metric_step, :value, :logged_at) ON CONFLICT (run_id, task_id, attempt, seq) DO '
        'UPDATE SET step_name = excluded.step_name, name = excluded.name, metric_step = '
        'excluded.metric_step, value = excluded.value, logged_at = excluded.logged_at'
    ),
    'upsert_run_link': (
        'INSERT INTO run_links (run_id, tracker, external_id, url, created_at) VALUES '
        '(:run_id, :tracker, :external_id, :url, :created_at) ON CONFLICT (run_id, tracker) '
        'DO UPDATE SET external_id = excluded.external_id, url = excluded.url, created_at = '
        'excluded.created_at'
    ),
}

READS = {
    'flows': 'SELECT flows.flow_name, flows.created_at FROM flows ORDER BY flows.flow_name',
    'run': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id = :run_id'
    ),
    'run_exists': 'SELECT runs.run_id FROM runs WHERE runs.run_id = :run_id',
    'run_tags': (
        'SELECT run_tags.tag, run_tags.is_system FROM run_tags WHERE run_tags.run_id = '
        ':run_id'
    ),
    'run_links': (
        'SELECT run_links.run_id, run_links.tracker, run_links.external_id, run_links.url, '
        'run_links.created_at FROM run_links WHERE run_links.run_id = :run_id ORDER BY '
        'run_links.tracker'
    ),
    'runs/-': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs ORDER BY runs.run_id DESC) ORDER '
        'BY runs.run_id DESC'
    ),
    'runs_tags/-': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs ORDER BY runs.run_id DESC)'
    ),
    'runs_task_counts/-': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs ORDER BY runs.run_id DESC) GROUP BY tasks.run_id, '
        'tasks.status'
    ),
    'runs/b': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before ORDER'
        ' BY runs.run_id DESC) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/b': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before ORDER '
        'BY runs.run_id DESC)'
    ),
    'runs_task_counts/b': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before ORDER BY runs.run_id DESC)'
        ' GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/l': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs ORDER BY runs.run_id DESC LIMIT '
        ':limit OFFSET 0) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/l': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs ORDER BY runs.run_id DESC LIMIT '
        ':limit OFFSET 0)'
    ),
    'runs_task_counts/l': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) GROUP'
        ' BY tasks.run_id, tasks.status'
    ),
    'runs/lb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before ORDER'
        ' BY runs.run_id DESC LIMIT :limit OFFSET 0) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/lb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before ORDER '
        'BY runs.run_id DESC LIMIT :limit OFFSET 0)'
    ),
    'runs_task_counts/lb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before ORDER BY runs.run_id DESC '
        'LIMIT :limit OFFSET 0) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/t': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id IN (SELECT '
        'run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY '
        'run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC) ORDER BY '
        'runs.run_id DESC'
    ),
    'runs_tags/t': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id IN (SELECT '
        'run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY '
        'run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC)'
    ),
    'runs_task_counts/t': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id IN (SELECT run_tags.run_id FROM '
        'run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id '
        'HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC) GROUP BY tasks.run_id, '
        'tasks.status'
    ),
    'runs/tb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/tb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC)'
    ),
    'runs_task_counts/tb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND runs.run_id IN (SELECT'
        ' run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY'
        ' run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC) GROUP BY '
        'tasks.run_id, tasks.status'
    ),
    'runs/tl': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id IN (SELECT '
        'run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY '
        'run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT :limit '
        'OFFSET 0) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/tl': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id IN (SELECT '
        'run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY '
        'run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT :limit '
        'OFFSET 0)'
    ),
    'runs_task_counts/tl': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id IN (SELECT run_tags.run_id FROM '
        'run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id '
        'HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) GROUP BY'
        ' tasks.run_id, tasks.status'
    ),
    'runs/tlb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC LIMIT :limit OFFSET 0) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/tlb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC LIMIT :limit OFFSET 0)'
    ),
    'runs_task_counts/tlb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND runs.run_id IN (SELECT'
        ' run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY'
        ' run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT :limit '
        'OFFSET 0) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/f': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name'
        ' ORDER BY runs.run_id DESC) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/f': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name '
        'ORDER BY runs.run_id DESC)'
    ),
    'runs_task_counts/f': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name ORDER BY runs.run_id'
        ' DESC) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/fb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name ORDER BY runs.run_id DESC) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/fb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name ORDER BY runs.run_id DESC)'
    ),
    'runs_task_counts/fb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND runs.flow_name = '
        ':flow_name ORDER BY runs.run_id DESC) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/fl': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name'
        ' ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/fl': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name '
        'ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0)'
    ),
    'runs_task_counts/fl': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name ORDER BY runs.run_id'
        ' DESC LIMIT :limit OFFSET 0) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/flb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) ORDER '
        'BY runs.run_id DESC'
    ),
    'runs_tags/flb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0)'
    ),
    'runs_task_counts/flb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND runs.flow_name = '
        ':flow_name ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) GROUP BY tasks.run_id, '
        'tasks.status'
    ),
    'runs/ft': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name'
        ' AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/ft': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name '
        'AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC)'
    ),
    'runs_task_counts/ft': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name AND runs.run_id IN '
        '(SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) '
        'GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC) GROUP'
        ' BY tasks.run_id, tasks.status'
    ),
    'runs/ftb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags'
        ' WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING '
        'count(*) = :n_tags) ORDER BY runs.run_id DESC) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/ftb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags'
        ' WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING '
        'count(*) = :n_tags) ORDER BY runs.run_id DESC)'
    ),
    'runs_task_counts/ftb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND runs.flow_name = '
        ':flow_name AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE '
        'run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = '
        ':n_tags) ORDER BY runs.run_id DESC) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/ftl': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name'
        ' AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC LIMIT :limit OFFSET 0) ORDER BY runs.run_id DESC'
    ),
    'runs_tags/ftl': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name '
        'AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN '
        '(__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY '
        'runs.run_id DESC LIMIT :limit OFFSET 0)'
    ),
    'runs_task_counts/ftl': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.flow_name = :flow_name AND runs.run_id IN '
        '(SELECT run_tags.run_id FROM run_tags WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) '
        'GROUP BY run_tags.run_id HAVING count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT '
        ':limit OFFSET 0) GROUP BY tasks.run_id, tasks.status'
    ),
    'runs/ftlb': (
        'SELECT runs.run_id, runs.flow_name, runs.user_name, runs.status, runs.created_at, '
        'runs.finished_at, runs.heartbeat_at, runs.origin_run_id, runs.code_key, '
        'runs.graph_key, runs.scheduler_pid, runs.hostname, runs.datastore_url FROM runs '
        'WHERE runs.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags'
        ' WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING '
        'count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) ORDER BY '
        'runs.run_id DESC'
    ),
    'runs_tags/ftlb': (
        'SELECT run_tags.run_id, run_tags.tag, run_tags.is_system FROM run_tags WHERE '
        'run_tags.run_id IN (SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND '
        'runs.flow_name = :flow_name AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags'
        ' WHERE run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING '
        'count(*) = :n_tags) ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0)'
    ),
    'runs_task_counts/ftlb': (
        'SELECT tasks.run_id, tasks.status, count(*) AS n FROM tasks WHERE tasks.run_id IN '
        '(SELECT runs.run_id FROM runs WHERE runs.run_id < :before AND runs.flow_name = '
        ':flow_name AND runs.run_id IN (SELECT run_tags.run_id FROM run_tags WHERE '
        'run_tags.tag IN (__[POSTCOMPILE_tags]) GROUP BY run_tags.run_id HAVING count(*) = '
        ':n_tags) ORDER BY runs.run_id DESC LIMIT :limit OFFSET 0) GROUP BY tasks.run_id, '
        'tasks.status'
    ),
    'parameters': (
        'SELECT parameters.run_id, parameters.name, parameters.position, '
        'parameters.value_json, parameters.blob_key FROM parameters WHERE parameters.run_id ='
        ' :run_id ORDER BY parameters.position, parameters.name'
    ),
    'parameters_of_runs': (
        'SELECT parameters.run_id, parameters.name, parameters.position, '
        'parameters.value_json, parameters.blob_key FROM parameters WHERE parameters.run_id '
        'IN (__[POSTCOMPILE_run_ids]) ORDER BY parameters.run_id, parameters.position, '
        'parameters.name'
    ),
    'steps': (
        'SELECT steps.run_id, steps.step_name, steps.created_at FROM steps WHERE steps.run_id'
        ' = :run_id ORDER BY steps.position'
    ),
    'tasks': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks LEFT '
        'OUTER JOIN steps ON steps.run_id = tasks.run_id AND steps.step_name = '
        'tasks.step_name WHERE tasks.run_id = :run_id ORDER BY steps.position, '
        'tasks.foreach_order, tasks.task_id'
    ),
    'tasks_of_step': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks LEFT '
        'OUTER JOIN steps ON steps.run_id = tasks.run_id AND steps.step_name = '
        'tasks.step_name WHERE tasks.run_id = :run_id AND tasks.step_name = :step_name ORDER '
        'BY steps.position, tasks.foreach_order, tasks.task_id'
    ),
    'task': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks WHERE '
        'tasks.run_id = :run_id AND tasks.task_id = :task_id'
    ),
    'task_attempt': (
        'SELECT tasks.attempt FROM tasks WHERE tasks.run_id = :run_id AND tasks.task_id = '
        ':task_id'
    ),
    'attempts': (
        'SELECT attempts.run_id, attempts.task_id, attempts.attempt, attempts.status, '
        'attempts.started_at, attempts.finished_at, attempts.exit_code, attempts.exception, '
        'attempts.traceback, attempts.stdout_key, attempts.stderr_key, attempts.pid, '
        'attempts.node FROM attempts WHERE attempts.run_id = :run_id ORDER BY '
        'attempts.task_id, attempts.attempt'
    ),
    'attempts_of_task': (
        'SELECT attempts.run_id, attempts.task_id, attempts.attempt, attempts.status, '
        'attempts.started_at, attempts.finished_at, attempts.exit_code, attempts.exception, '
        'attempts.traceback, attempts.stdout_key, attempts.stderr_key, attempts.pid, '
        'attempts.node FROM attempts WHERE attempts.run_id = :run_id AND attempts.task_id = '
        ':task_id ORDER BY attempts.task_id, attempts.attempt'
    ),
    'artifacts_of_attempt': (
        'SELECT artifacts.run_id, artifacts.task_id, artifacts.attempt, artifacts.name, '
        'artifacts.blob_key, artifacts.type_name, artifacts.size, artifacts.encoding FROM '
        'artifacts WHERE artifacts.run_id = :run_id AND artifacts.task_id = :task_id AND '
        'artifacts.attempt = :attempt ORDER BY artifacts.name'
    ),
    'run_artifacts': (
        'SELECT artifacts.run_id, artifacts.task_id, artifacts.attempt, artifacts.name, '
        'artifacts.blob_key, artifacts.type_name, artifacts.size, artifacts.encoding FROM '
        'artifacts JOIN tasks ON artifacts.run_id = tasks.run_id AND artifacts.task_id = '
        'tasks.task_id AND artifacts.attempt = tasks.attempt WHERE tasks.run_id = :run_id '
        'ORDER BY artifacts.task_id, artifacts.name'
    ),
    'run_metrics': (
        'SELECT metrics.run_id, metrics.task_id, metrics.attempt, metrics.seq, '
        'metrics.step_name, metrics.name, metrics.metric_step, metrics.value, '
        'metrics.logged_at FROM metrics JOIN tasks ON metrics.run_id = tasks.run_id AND '
        'metrics.task_id = tasks.task_id AND metrics.attempt = tasks.attempt WHERE '
        'tasks.run_id = :run_id ORDER BY metrics.task_id, metrics.seq'
    ),
    'task_metrics': (
        'SELECT metrics.run_id, metrics.task_id, metrics.attempt, metrics.seq, '
        'metrics.step_name, metrics.name, metrics.metric_step, metrics.value, '
        'metrics.logged_at FROM metrics JOIN tasks ON metrics.run_id = tasks.run_id AND '
        'metrics.task_id = tasks.task_id AND metrics.attempt = tasks.attempt WHERE '
        'tasks.run_id = :run_id AND tasks.task_id = :task_id ORDER BY metrics.task_id, '
        'metrics.seq'
    ),
    'attempt_metrics': (
        'SELECT metrics.run_id, metrics.task_id, metrics.attempt, metrics.seq, '
        'metrics.step_name, metrics.name, metrics.metric_step, metrics.value, '
        'metrics.logged_at FROM metrics WHERE metrics.run_id = :run_id AND metrics.task_id = '
        ':task_id AND metrics.attempt = :attempt ORDER BY metrics.seq'
    ),
    'metric_buckets': (
        'SELECT metrics.run_id, metrics.task_id, metrics.attempt, metrics.seq, '
        'metrics.step_name, metrics.name, metrics.metric_step, metrics.value, '
        'metrics.logged_at, anon_1.bucket, anon_1.lo, anon_1.n FROM metrics JOIN (SELECT '
        'metrics.name AS name, metrics.seq / :width AS bucket, min(metrics.seq) AS lo, '
        'max(metrics.seq) AS hi, count(*) AS n FROM metrics WHERE metrics.run_id = :run_id '
        'AND metrics.task_id = :task_id AND metrics.attempt = :attempt GROUP BY metrics.name,'
        ' metrics.seq / :width) AS anon_1 ON metrics.run_id = :run_id AND metrics.task_id = '
        ':task_id AND metrics.attempt = :attempt AND (metrics.seq = anon_1.lo OR metrics.seq '
        '= anon_1.hi) ORDER BY metrics.seq'
    ),
    'metrics_of_tasks': (
        'SELECT metrics.run_id, metrics.task_id, metrics.attempt, metrics.seq, '
        'metrics.step_name, metrics.name, metrics.metric_step, metrics.value, '
        'metrics.logged_at FROM metrics JOIN tasks ON metrics.run_id = tasks.run_id AND '
        'metrics.task_id = tasks.task_id AND metrics.attempt = tasks.attempt WHERE '
        'tasks.run_id = :run_id AND tasks.task_id IN (__[POSTCOMPILE_task_ids]) ORDER BY '
        'metrics.task_id, metrics.seq'
    ),
    'metric_cursors': (
        'SELECT tasks.task_id, tasks.attempt, (SELECT max(metrics.seq) AS max_1 FROM metrics '
        'WHERE metrics.run_id = tasks.run_id AND metrics.task_id = tasks.task_id AND '
        'metrics.attempt = tasks.attempt) AS last_seq FROM tasks WHERE tasks.run_id = :run_id'
    ),
    'run_has_metrics': (
        'SELECT 1 WHERE EXISTS (SELECT * FROM metrics WHERE metrics.run_id = :run_id)'
    ),
    'metric_tail': (
        'SELECT metrics.run_id, metrics.task_id, metrics.attempt, metrics.seq, '
        'metrics.step_name, metrics.name, metrics.metric_step, metrics.value, '
        'metrics.logged_at FROM metrics WHERE metrics.run_id = :run_id AND metrics.task_id = '
        ':task_id AND metrics.attempt = :attempt AND metrics.seq > :after AND metrics.seq <= '
        ':upto ORDER BY metrics.seq'
    ),
    'metric_by_run': (
        'SELECT anon_1.run_id, anon_1.value AS last_value, anon_1.max_value, anon_1.min_value'
        ' FROM (SELECT metrics.run_id AS run_id, metrics.value AS value, max(metrics.value) '
        'OVER (PARTITION BY metrics.run_id) AS max_value, min(metrics.value) OVER (PARTITION '
        'BY metrics.run_id) AS min_value, row_number() OVER (PARTITION BY metrics.run_id '
        'ORDER BY metrics.logged_at DESC, metrics.task_id DESC, metrics.seq DESC) AS rn FROM '
        'metrics JOIN tasks ON metrics.run_id = tasks.run_id AND metrics.task_id = '
        'tasks.task_id AND metrics.attempt = tasks.attempt JOIN runs ON runs.run_id = '
        'metrics.run_id WHERE runs.flow_name = :flow_name AND metrics.name = :name) AS anon_1'
        ' WHERE anon_1.rn = 1'
    ),
    'metric_names': (
        'SELECT DISTINCT metrics.name FROM metrics JOIN runs ON runs.run_id = metrics.run_id '
        'WHERE runs.flow_name = :flow_name ORDER BY metrics.name'
    ),
    'snapshot_tasks': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks WHERE '
        'tasks.run_id IN (__[POSTCOMPILE_run_ids]) AND tasks.step_name = :step_name ORDER BY '
        'tasks.run_id, tasks.task_id'
    ),
    'snapshot_attempts': (
        'SELECT attempts.run_id, attempts.task_id, attempts.attempt, attempts.status, '
        'attempts.started_at, attempts.finished_at, attempts.exit_code, attempts.exception, '
        'attempts.traceback, attempts.stdout_key, attempts.stderr_key, attempts.pid, '
        'attempts.node FROM attempts JOIN tasks ON attempts.run_id = tasks.run_id AND '
        'attempts.task_id = tasks.task_id AND attempts.attempt = tasks.attempt WHERE '
        'tasks.run_id IN (__[POSTCOMPILE_run_ids]) AND tasks.step_name = :step_name'
    ),
    'snapshot_artifacts': (
        'SELECT artifacts.run_id, artifacts.task_id, artifacts.attempt, artifacts.name, '
        'artifacts.blob_key, artifacts.type_name, artifacts.size, artifacts.encoding FROM '
        'artifacts JOIN tasks ON artifacts.run_id = tasks.run_id AND artifacts.task_id = '
        'tasks.task_id AND artifacts.attempt = tasks.attempt WHERE tasks.run_id IN '
        '(__[POSTCOMPILE_run_ids]) AND tasks.step_name = :step_name ORDER BY artifacts.name'
    ),
    'failures': (
        'SELECT tasks.task_id, attempts.exception, attempts.exit_code FROM tasks JOIN '
        'attempts ON attempts.run_id = tasks.run_id AND attempts.task_id = tasks.task_id AND '
        'attempts.attempt = tasks.attempt WHERE tasks.run_id = :run_id AND tasks.status = '
        "'failed'"
    ),
    'failures_of_step': (
        'SELECT tasks.task_id, attempts.exception, attempts.exit_code FROM tasks JOIN '
        'attempts ON attempts.run_id = tasks.run_id AND attempts.task_id = tasks.task_id AND '
        'attempts.attempt = tasks.attempt WHERE tasks.run_id = :run_id AND tasks.status = '
        "'failed' AND tasks.step_name = :step_name"
    ),
    'failures_of_tasks': (
        'SELECT tasks.task_id, attempts.exception, attempts.exit_code FROM tasks JOIN '
        'attempts ON attempts.run_id = tasks.run_id AND attempts.task_id = tasks.task_id AND '
        'attempts.attempt = tasks.attempt WHERE tasks.run_id = :run_id AND tasks.task_id IN '
        '(__[POSTCOMPILE_task_ids])'
    ),
    'task_page': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks WHERE '
        'tasks.run_id = :run_id AND tasks.step_name = :step_name AND tasks.foreach_order >= '
        ':after_order AND (tasks.foreach_order > :after_order OR tasks.task_id > :after_task)'
        ' ORDER BY tasks.foreach_order, tasks.task_id LIMIT :limit OFFSET 0'
    ),
    'task_page_by_status': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks WHERE '
        'tasks.run_id = :run_id AND tasks.step_name = :step_name AND tasks.foreach_order >= '
        ':after_order AND (tasks.foreach_order > :after_order OR tasks.task_id > :after_task)'
        ' AND tasks.status IN (__[POSTCOMPILE_statuses]) ORDER BY tasks.foreach_order, '
        'tasks.task_id LIMIT :limit OFFSET 0'
    ),
    'step_stats': (
        'SELECT tasks.step_name, tasks.status, count(*) AS n, min(tasks.created_at) AS '
        'first_start, max(tasks.created_at) AS last_start, max(tasks.finished_at) AS '
        'last_finish, count(tasks.finished_at) AS finished, min(tasks.finished_at - '
        'tasks.created_at) AS min_s, max(tasks.finished_at - tasks.created_at) AS max_s, '
        'sum(tasks.finished_at - tasks.created_at) AS sum_s FROM tasks WHERE tasks.run_id = '
        ':run_id GROUP BY tasks.step_name, tasks.status'
    ),
    'step_slowest': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks WHERE '
        'tasks.run_id = :run_id AND tasks.step_name = :step_name AND tasks.finished_at - '
        'tasks.created_at IS NOT NULL ORDER BY tasks.finished_at - tasks.created_at DESC, '
        'tasks.task_id LIMIT :limit OFFSET 0'
    ),
    'step_nth_duration': (
        'SELECT tasks.finished_at - tasks.created_at AS d FROM tasks WHERE tasks.run_id = '
        ':run_id AND tasks.step_name = :step_name AND tasks.finished_at - tasks.created_at IS'
        ' NOT NULL ORDER BY tasks.finished_at - tasks.created_at LIMIT 1 OFFSET :offset'
    ),
    'tasks_by_id': (
        'SELECT tasks.run_id, tasks.task_id, tasks.step_name, tasks.status, tasks.created_at,'
        ' tasks.finished_at, tasks.attempt, tasks.foreach_stack, tasks.foreach_order, '
        'tasks.origin_run_id, tasks.origin_task_id, tasks.input_task_ids FROM tasks WHERE '
        'tasks.run_id = :run_id AND tasks.task_id IN (__[POSTCOMPILE_task_ids]) ORDER BY '
        'tasks.task_id'
    ),
    'step_start_histogram': (
        'SELECT CAST((tasks.created_at - :t0) / (:width + 0.0) AS INTEGER) AS b, count(*) AS '
        'n FROM tasks WHERE tasks.run_id = :run_id AND tasks.step_name = :step_name GROUP BY '
        'b'
    ),
    'progress': (
        'SELECT tasks.status, count(*) AS n, max(tasks.created_at) AS created, '
        'max(tasks.finished_at) AS finished FROM tasks WHERE tasks.run_id = :run_id AND '
        'tasks.step_name != :except_step GROUP BY tasks.status'
    ),
}
