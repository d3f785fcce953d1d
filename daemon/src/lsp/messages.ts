/**
 * Telling the person something through the LSP client: window/showMessage, a notification.
 * (vscode-languageserver's `window.show*Message` send window/showMessageRequest, which not every
 * client implements and whose answer nobody here needs.)
 */
import { MessageType, ShowMessageNotification, type Connection } from 'vscode-languageserver/node';

export type Severity = 'error' | 'warning' | 'info';

const types: Record<Severity, MessageType> = { error: MessageType.Error, warning: MessageType.Warning, info: MessageType.Info };

/** Show `message` (a sentence starting with "Chorus: ") in the client; never throws. */
export function tell(conn: Connection, severity: Severity, message: string): void {
  void conn.sendNotification(ShowMessageNotification.type, { type: types[severity], message }).catch(() => undefined);
}
