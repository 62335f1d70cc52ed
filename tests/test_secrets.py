"""A run's recorded environment leaves out everything that looks secret, and keeps
what a resume needs (paths, locale, scheduler and GPU settings).

The values are made up, in the shape real ones have.
"""

import json

import pytest

from runyard.engine.control import start, wait_for_end
from runyard.engine.spec import RunSpec, is_secret, recordable_env

SECRETS = {
    # passwords, spelt every way tools spell them
    "MYSQL_PWD": "hunter2",
    "MYSQL_ROOT_PASSWORD": "r00t-pass",
    "SSHPASS": "correct horse battery staple",
    "DB_PASS": "s3cr3t!",
    "PGPASS": "pg-pass-123",
    "PGPASSWORD": "pg-pass-456",
    "SMTP_PASS": "mail-pass",
    "LDAP_BIND_PW": "bind-pw-789",
    "ORACLE_PWD": "Oracle#1",
    "RABBITMQ_DEFAULT_PASS": "guest2",
    "RESTIC_PASSWORD": "restic-pw",
    "BORG_PASSPHRASE": "long passphrase here",
    "TWINE_PASSWORD": "pypi-AgEIcHlwaS5vcmcCJGFh",
    "ANSIBLE_VAULT_PASSWORD": "vault-pw",
    "MSSQL_SA_PASSWORD": "Str0ng!Passw0rd",
    # tokens and keys
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLWhlcmU",
    "BEARER": "Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "GITHUB_TOKEN": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "GH_TOKEN": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "GITHUB_PAT": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "CI_JOB_TOKEN": "64_chars_of_ci_job_token",
    "HF_TOKEN": "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
    "OPENAI_API_KEY": "sk-proj-abc123def456ghi789",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBYaDHqa0AP1/EXAMPLE",
    "AZURE_CLIENT_SECRET": "8Q~abcdefghijklmnopqrstuvwxyz",
    "GOOGLE_APPLICATION_CREDENTIALS": "/home/ana/.config/gcloud/sa.json",
    "VAULT_TOKEN": "hvs.CAESIJ1234567890abcdef",
    "NPM_TOKEN": "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdefghijkl",
    "DJANGO_SECRET_KEY": "django-insecure-abc$%^123",
    "NGROK_AUTHTOKEN": "2abcdefghijklmnop_qrstuvwxyz",
    "DOCKER_AUTH_CONFIG": '{"auths": {"registry.example.org": {"auth": "dXNlcjpwYXNz"}}}',
    "SSH_PRIVATE_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n",
    "NEW_RELIC_LICENSE_KEY": "eu01xx0123456789abcdef0123456789abcdNRAL",
    "KAGGLE_KEY": "0123456789abcdef0123456789abcdef",
    # connection strings, DSNs and webhooks
    "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=acct;"
                                       "AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net",
    "MONGO_CONNECTION_STRING": "mongodb://db.example.org:27017/app",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX",
    "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/123/abcDEF",
    "SENTRY_DSN": "https://abc123@o123.ingest.sentry.io/456",
    # a password in a URL, with a user or without one
    "DATABASE_URL": "postgres://app:pg-secret@db.example.org:5432/app",
    "CELERY_BROKER_URL": "redis://:redis-secret@cache.example.org:6379/0",
    "REDIS_URL": "rediss://:pw@redis.example.org:6380",
    "PIP_INDEX_URL": "https://__token__:pypi-AgEIcHlw@pypi.example.org/simple",
    "HTTPS_PROXY": "http://ana:proxy-pw@proxy.example.org:3128",
    # secrets under a harmless name, known by their shape
    "LIBPQ_CONNINFO": "host=db.example.org user=app password=pg-secret",
    "DEPLOY_SETTING": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
}

HARMLESS = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/ana",
    "LANG": "en_GB.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PWD": "/scratch/ana/project",
    "OLDPWD": "/home/ana",
    "SHELL": "/bin/bash",
    "USER": "ana",
    "TERM": "xterm-256color",
    "TMPDIR": "/tmp",
    "PYTHONPATH": "/home/ana/lib/python",
    "VIRTUAL_ENV": "/home/ana/.venvs/sim",
    "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NODELIST": "node[7-8]",
    "SLURM_CPUS_PER_TASK": "8",
    "CUDA_VISIBLE_DEVICES": "0,1",
    "OMP_NUM_THREADS": "8",
    "MKL_NUM_THREADS": "8",
    "HF_HOME": "/scratch/ana/hf",
    "GIT_AUTHOR_NAME": "Ana Lopez",
    "SSH_CONNECTION": "10.0.0.1 51234 10.0.0.7 22",
    "HTTP_PROXY": "http://proxy.example.org:3128",
    "DATABASE_URL_READONLY": "postgres://db.example.org:5432/app",
    "KEYBOARD_LAYOUT": "gb",
    "MPLBACKEND": "Agg",
    "TZ": "Europe/London",
    "CONDA_PREFIX": "/opt/conda/envs/sim",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secret_variables_are_recognised(name):
    assert is_secret(name, SECRETS[name]), name


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_harmless_variables_are_kept(name):
    assert not is_secret(name, HARMLESS[name]), name


def test_the_lists_are_large_enough():
    assert len(SECRETS) >= 40 and len(HARMLESS) >= 20


def test_recordable_env_keeps_exactly_the_harmless_ones():
    recorded = recordable_env({**SECRETS, **HARMLESS})
    assert recorded == HARMLESS


def test_a_real_run_records_no_secret(root, tmp_path, monkeypatch):
    for name, value in {**SECRETS, **HARMLESS}.items():
        monkeypatch.setenv(name, value)
    module = tmp_path / "m.py"
    module.write_text("def run(instance, save, state):\n    pass\n")
    data = tmp_path / "a.txt"
    data.write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]))
    wait_for_end(root, info.id, 60)
    text = (info.meta_dir / "proc" / "env.json").read_text()
    env = json.loads(text)
    assert not set(SECRETS) & set(env)
    for value in SECRETS.values():
        assert value not in text
    assert {k: env[k] for k in HARMLESS} == HARMLESS
