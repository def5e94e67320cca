// The VS Code client of `siesa map lsp`: starts the server for `.map` documents and lets
// vscode-languageclient speak the protocol. Everything the editor shows comes from the server.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration('siesaMap')
    .get('server.command', ['siesa', 'map', 'lsp']);
  client = new LanguageClient(
    'siesaMap',
    'Siesa map language server',
    { command, args, transport: TransportKind.stdio },
    {
      documentSelector: [
        { scheme: 'file', language: 'siesa-map' },
        { scheme: 'untitled', language: 'siesa-map' },
      ],
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
