import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

const SECTION = "alembicLsp";
const EXE = process.platform === "win32" ? "alembic-lsp.exe" : "alembic-lsp";

/** Settings mirrored from `[tool.alembic-lsp]`; sent only when the user set them. */
const MIRRORED = [
  "select",
  "ignore",
  "severity",
  "maxHeads",
  "branches",
  "concurrentIndexHelpers",
  "requireReason",
] as const;

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
/** Forwards file changes to the server (`workspace/didChangeWatchedFiles`). */
let watcher: vscode.FileSystemWatcher;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Alembic LSP");
  watcher = vscode.workspace.createFileSystemWatcher(
    "**/{*.py,alembic.ini,pyproject.toml,alembic-lsp.toml}",
  );
  context.subscriptions.push(
    output,
    watcher,
    vscode.commands.registerCommand(`${SECTION}.restart`, () => restart(context, true)),
    vscode.commands.registerCommand(`${SECTION}.showOutput`, () => output.show()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(`${SECTION}.path`)) {
        void restart(context);
      } else if (event.affectsConfiguration(SECTION) && client?.isRunning()) {
        void client.sendNotification("workspace/didChangeConfiguration", {
          settings: { [SECTION]: explicitSettings() },
        });
      }
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

async function restart(context: vscode.ExtensionContext, fromCommand = false): Promise<void> {
  if (client) {
    output.appendLine("Restarting the server.");
    const running = client;
    client = undefined;
    await running.stop().catch(() => undefined);
    running.dispose();
  }
  await start(context, fromCommand);
}

async function start(context: vscode.ExtensionContext, fromCommand = false): Promise<void> {
  if (!(await isAlembicWorkspace())) {
    const message =
      "No alembic.ini or pyproject.toml with [tool.alembic] in this workspace: the server is not started.";
    output.appendLine(message);
    if (fromCommand) {
      void vscode.window.showInformationMessage(`Alembic LSP: ${message}`);
    }
    return;
  }
  const server = findServer(context);
  if (!server) {
    void showMissingServer(
      "the alembic-lsp server was not found: it is not bundled for this platform and not on " +
        "PATH. Install it (`pip install alembic-lsp`) or set `alembicLsp.path`.",
    );
    return;
  }
  if (!isExecutable(server.command)) {
    void showMissingServer(`${server.command} (${server.origin}) is not an executable file.`);
    return;
  }
  output.appendLine(`Starting ${server.command} (${server.origin}).`);

  // TransportKind.stdio makes the client pass `--stdio` itself.
  const serverOptions: ServerOptions = { command: server.command, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "python" }],
    outputChannel: output,
    initializationOptions: explicitSettings(),
    synchronize: { fileEvents: watcher },
  };
  client = new LanguageClient(SECTION, "Alembic LSP", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    output.appendLine(`The server failed to start: ${error}`);
    void vscode.window
      .showErrorMessage(
        `Alembic LSP: ${server.command} failed to start. See the output for details.`,
        "Show Output",
      )
      .then((choice) => choice && output.show());
  }
}

/** `alembic.ini` anywhere in the workspace, or a `pyproject.toml` with `[tool.alembic]`. */
async function isAlembicWorkspace(): Promise<boolean> {
  const exclude = "**/{node_modules,.git,.venv,venv,__pycache__}/**";
  if ((await vscode.workspace.findFiles("**/alembic.ini", exclude, 1)).length > 0) {
    return true;
  }
  const toolAlembic = /^\s*\[\[?\s*tool\.alembic\s*[\].]/m;
  for (const uri of await vscode.workspace.findFiles("**/pyproject.toml", exclude, 50)) {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    if (toolAlembic.test(text)) {
      return true;
    }
  }
  return false;
}

interface Server {
  command: string;
  origin: string;
}

/** Order: setting `alembicLsp.path` > `ALEMBIC_LSP_PATH` > bundled binary > `PATH`. */
function findServer(context: vscode.ExtensionContext): Server | undefined {
  const setting = vscode.workspace.getConfiguration(SECTION).get<string | null>("path");
  if (setting) {
    return { command: absolute(setting), origin: `setting ${SECTION}.path` };
  }
  const env = process.env.ALEMBIC_LSP_PATH;
  if (env) {
    return { command: absolute(env), origin: "environment variable ALEMBIC_LSP_PATH" };
  }
  const bundled = context.asAbsolutePath(path.join("bundled", EXE));
  if (fs.existsSync(bundled) && !isExecutable(bundled)) {
    // Some installers drop the mode bits of files unpacked from the .vsix.
    try {
      fs.chmodSync(bundled, 0o755);
    } catch {
      // A read-only install: fall through to PATH.
    }
  }
  if (isExecutable(bundled)) {
    return { command: bundled, origin: "bundled with the extension" };
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = dir && path.join(dir, EXE);
    if (candidate && isExecutable(candidate)) {
      return { command: candidate, origin: "found on PATH" };
    }
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `~/` is the home directory; a relative path is relative to the first workspace folder. */
function absolute(file: string): string {
  if (file.startsWith("~/")) {
    return path.join(process.env.HOME ?? "", file.slice(2));
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return folder ? path.resolve(folder, file) : path.resolve(file);
}

async function showMissingServer(reason: string): Promise<void> {
  const message = `Alembic LSP: ${reason}`;
  output.appendLine(message);
  const choice = await vscode.window.showErrorMessage(message, "Open Settings", "Show Output");
  if (choice === "Open Settings") {
    await vscode.commands.executeCommand("workbench.action.openSettings", `${SECTION}.path`);
  } else if (choice === "Show Output") {
    output.show();
  }
}

/** Mirrored settings the user set (any scope), so the config file's values stand otherwise. */
function explicitSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const settings: Record<string, unknown> = {};
  for (const key of MIRRORED) {
    const inspected = config.inspect(key);
    const value =
      inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (value !== undefined && value !== null) {
      settings[key] = value;
    }
  }
  return settings;
}
