"""`siesa map lsp`: the language server of `.map` files, over stdio (pygls).

Diagnostics as the document changes (those of `siesa map check`: every
error, or the warnings and notes), hover, completion, go to definition and
formatting (`siesa map fmt`). Each feature asks editor/ for the answer and
only converts positions here: the protocol counts columns in UTF-16 units
(or what the client negotiated), the compiler in characters.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from compiler.version import COMPILER_VERSION
from dsl.ast import Span
from dsl.diagnostics import Diagnostic
from editor.completion import complete
from editor.document import check_text, display_path, format_text
from editor.hover import describe, describe_word
from editor.positions import caret_range, source_lines, span_range
from editor.project import Names, Project, definition, load_project, names_of
from editor.symbols import symbol_at
from editor.vocabulary import Entry, EntryKind

SERVER_NAME = "siesa-map"
SOURCE = "siesa map check"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}
_ITEM_KIND: dict[EntryKind, types.CompletionItemKind] = {
    "keyword": types.CompletionItemKind.Keyword,
    "field": types.CompletionItemKind.Field,
    "type": types.CompletionItemKind.TypeParameter,
    "step": types.CompletionItemKind.Method,
    "function": types.CompletionItemKind.Function,
    "validator": types.CompletionItemKind.Enum,
    "check": types.CompletionItemKind.Keyword,
    "lookup": types.CompletionItemKind.Enum,
    "column": types.CompletionItemKind.Variable,
    "source": types.CompletionItemKind.Variable,
}


class MapServer(LanguageServer):
    """The server, with what it remembers between messages."""

    def __init__(self) -> None:
        super().__init__(
            SERVER_NAME,
            COMPILER_VERSION,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.published: dict[str, set[str]] = {}
        """Document URI -> the URIs of the other files (its bases) it published diagnostics to."""
        self.names: dict[str, Names] = {}
        """Document URI -> its names the last time it parsed (completion while it does not)."""

    @property
    def codec(self) -> PositionCodec:
        return self.workspace.position_codec

    def open_files(self, but: str) -> dict[str, str]:
        """The other open documents' text, by display path: unsaved bases are read as shown."""
        return {
            display_path(document_path(document)): document.source
            for uri, document in self.workspace.text_documents.items()
            if uri != but
        }

    def project(self, document: TextDocument) -> Project | None:
        """The document and its bases, parsed; remembers its names for completion."""
        project = load_project(
            document.source, document_path(document), self.open_files(document.uri)
        )
        if project is not None:
            self.names[document.uri] = names_of(project)
        return project


def document_path(document: TextDocument) -> Path:
    """Where the document is on disk; an unsaved one is named as if in the working directory."""
    path = to_fs_path(document.uri)
    if path is not None:
        return Path(path)
    name = document.uri.rstrip("/").rsplit("/", 1)[-1] or "untitled"
    return Path.cwd() / (name if name.endswith(".map") else f"{name}.map")


def _position(codec: PositionCodec, lines: list[str], line: int, character: int) -> types.Position:
    return codec.position_to_client_units(lines, types.Position(line=line, character=character))


def _range(
    codec: PositionCodec, source: str, line: int, start: int, end_line: int, end: int
) -> types.Range:
    lines = source_lines(source)
    return types.Range(
        start=_position(codec, lines, line, start), end=_position(codec, lines, end_line, end)
    )


def _span(codec: PositionCodec, source: str, span: Span) -> types.Range:
    r = span_range(span)
    return _range(codec, source, r.line, r.start, r.end_line, r.end)


def lsp_diagnostic(codec: PositionCodec, diagnostic: Diagnostic, source: str) -> types.Diagnostic:
    """A compiler diagnostic as the protocol's: the caret's characters, the hint after the message."""
    r = caret_range(diagnostic, source)
    message = diagnostic.message
    if diagnostic.hint is not None:
        message += f"\nhint: {diagnostic.hint}"
    return types.Diagnostic(
        range=_range(codec, source, r.line, r.start, r.end_line, r.end),
        message=message,
        severity=_SEVERITY[diagnostic.severity],
        source=SOURCE,
    )


def publish(ls: MapServer, uri: str) -> None:
    """Check one open document and publish its diagnostics, and those of bases not open."""
    document = ls.workspace.get_text_document(uri)
    path = document_path(document)
    open_files = ls.open_files(uri)
    checked = check_text(document.source, path, open_files=open_files)
    ls.project(document)
    by_file: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in checked.diagnostics:
        by_file[diagnostic.path].append(diagnostic)
    own = by_file.pop(checked.path, [])
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=uri,
            version=document.version,
            diagnostics=[lsp_diagnostic(ls.codec, d, document.source) for d in own],
        )
    )
    others: set[str] = set()
    for other, found in by_file.items():
        if other in open_files:
            continue  # an open base publishes its own
        other_uri = from_fs_path(other)
        source = checked.sources.get(other, "")
        others.add(other_uri)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=other_uri, diagnostics=[lsp_diagnostic(ls.codec, d, source) for d in found]
            )
        )
    for stale in ls.published.get(uri, set()) - others:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=stale, diagnostics=[])
        )
    ls.published[uri] = others


def publish_all(ls: MapServer, first: str) -> None:
    """Check `first`, then every other open document: any of them may extend it."""
    publish(ls, first)
    for uri in list(ls.workspace.text_documents):
        if uri != first:
            publish(ls, uri)


def _item(entry: Entry, text_range: types.Range) -> types.CompletionItem:
    return types.CompletionItem(
        label=entry.name,
        kind=_ITEM_KIND[entry.kind],
        detail=entry.detail,
        documentation=entry.doc or None,
        text_edit=types.TextEdit(range=text_range, new_text=entry.name),
    )


def build_server() -> MapServer:
    """A server with every feature registered (one per process: `siesa map lsp`)."""
    server = MapServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MapServer, params: types.DidOpenTextDocumentParams) -> None:
        publish_all(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MapServer, params: types.DidChangeTextDocumentParams) -> None:
        publish_all(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MapServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        for closed in {uri, *ls.published.pop(uri, set())}:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=closed, diagnostics=[])
            )
        ls.names.pop(uri, None)
        for other in list(ls.workspace.text_documents):
            if other != uri:
                publish(ls, other)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: MapServer, params: types.HoverParams) -> types.Hover | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        where = document.position_from_client_units(params.position)
        project = ls.project(document)
        source = document.source
        if project is None:
            lines = source_lines(source)
            if where.line >= len(lines):
                return None
            found = describe_word(lines[where.line], where.character)
            if found is None:
                return None
            entry, start, end = found
            text_range = _range(ls.codec, source, where.line, start, where.line, end)
        else:
            symbol = symbol_at(project.document.ast, where.line, where.character)
            described = None if symbol is None else describe(symbol, project)
            if symbol is None or described is None:
                return None
            entry, text_range = described, _span(ls.codec, source, symbol.span)
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=entry.markdown()),
            range=text_range,
        )

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["|", "(", " ", ","]),
    )
    def completion(ls: MapServer, params: types.CompletionParams) -> types.CompletionList:
        document = ls.workspace.get_text_document(params.text_document.uri)
        where = document.position_from_client_units(params.position)
        lines = source_lines(document.source)
        line = lines[where.line] if where.line < len(lines) else ""
        ls.project(document)
        names = ls.names.get(document.uri, Names())
        offer = complete(line[: where.character], lines[: where.line], names)
        text_range = _range(
            ls.codec, document.source, where.line, offer.start, where.line, where.character
        )
        items = [_item(entry, text_range) for entry in offer.entries]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(ls: MapServer, params: types.DefinitionParams) -> types.Location | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        where = document.position_from_client_units(params.position)
        project = ls.project(document)
        if project is None:
            return None
        symbol = symbol_at(project.document.ast, where.line, where.character)
        found = None if symbol is None else definition(project, symbol)
        if found is None:
            return None
        return types.Location(
            uri=from_fs_path(str(found.path)), range=_span(ls.codec, found.source, found.span)
        )

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: MapServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        source = document.source
        formatted = format_text(source, document_path(document))
        if formatted is None or formatted == source:
            return []
        lines = source.split("\n")
        end = _position(ls.codec, lines, len(lines) - 1, len(lines[-1]))
        whole = types.Range(start=types.Position(line=0, character=0), end=end)
        return [types.TextEdit(range=whole, new_text=formatted)]

    return server


def serve() -> None:
    """Run the server on standard input and output until the client says `exit`."""
    build_server().start_io()
