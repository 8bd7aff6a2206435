"""`mlplatform serve`: the scoring server of one registered model's champion (one model per
process; default: the project's first registered model)."""

from __future__ import annotations

import logging

import click


@click.command("serve")
@click.option(
    "--model",
    default=None,
    help="The registered model to serve (default: the project's first registered model).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind; 0 picks a free port (printed as `listening on URL`).",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0.05),
    default=None,
    help="How often to check the champion alias [default: $MLPLATFORM_SERVING_POLL_S or 5].",
)
@click.option(
    "--max-batch-rows",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest batch accepted; larger requests get 413.",
)
@click.option("--no-logging", is_flag=True, help="Do not log requests to the payload table.")
@click.option(
    "--log-flush-rows",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Commit the inference log when this many rows are buffered...",
)
@click.option(
    "--log-flush-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="...or when this many seconds have passed.",
)
@click.option(
    "--log-buffer-rows",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Most rows held in memory (what a hard crash can lose at most); rows past it "
    "are dropped and counted.",
)
def serve_command(
    model: str | None,
    host: str,
    port: int,
    poll_seconds: float | None,
    max_batch_rows: int,
    no_logging: bool,
    log_flush_rows: int,
    log_flush_seconds: float,
    log_buffer_rows: int,
) -> None:
    """Serve a registered model's champion over HTTP (POST /invocations, GET /health,
    GET /version).

    Requests are logged to the Delta table serving/<model>_payload. Rows may carry the model's
    lookup keys (declared by the project) as identifiers. Set
    MLPLATFORM_SERVING_TOKEN to require `Authorization: Bearer <token>`. Stop with SIGTERM:
    in-flight requests finish and every buffered log row is committed before exit.
    """
    from mlplatform.serving.app import ServingOptions
    from mlplatform.serving.declared import served_declaration
    from mlplatform.serving.server import ServerConfig, serve
    from mlplatform.settings import get_settings
    from mlplatform.settings.variables import SERVING_POLL_S, SERVING_TOKEN

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    if poll_seconds is None:
        poll_seconds = SERVING_POLL_S.number(float, click.BadParameter)
    name, id_columns, online_table = served_declaration(model)
    cfg = ServerConfig(
        host=host,
        port=port,
        poll_seconds=poll_seconds,
        logging=not no_logging,
        flush_rows=log_flush_rows,
        flush_seconds=log_flush_seconds,
        max_buffer_rows=log_buffer_rows,
        options=ServingOptions(
            max_batch_rows=max_batch_rows, token=SERVING_TOKEN.value(), id_columns=id_columns
        ),
        model=name,
        online_table=online_table,
    )
    try:
        unsaved = serve(settings, cfg, lambda url: click.echo(f"listening on {url}", err=False))
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err}") from err
    if unsaved:
        raise click.ClickException(f"{unsaved} inference log rows could not be saved")
    click.echo("stopped; inference log flushed")
