;;; chorus.el --- Edit one project together, live, with Chorus  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14"))
;; Keywords: convenience, tools, comm
;; URL: https://github.com/chorus/chorus

;;; Commentary:

;; A thin Emacs client for Chorus, a peer-to-peer live collaborative editing daemon.  Every file
;; of a shared project (a folder with `.chorus/' above it) is synchronised through that
;; project's daemon: your edits go to it, others' edits come back and are applied without moving
;; your point or disturbing your undo, and everyone's cursors and selections show as overlays
;; with their name and colour.
;;
;; The daemon does all the work (CRDT, peers, disk); this package only forwards and renders.  It
;; speaks the Chorus editor protocol (protocol/README.md in the Chorus repository) with the
;; built-in `jsonrpc' library over the stdio of `chorus connect ROOT'.
;;
;; Start with `global-chorus-mode', or `chorus-mode' in one buffer.  Commands: `chorus-share',
;; `chorus-join', `chorus-status', `chorus-peers', `chorus-follow', `chorus-unfollow',
;; `chorus-undo', `chorus-redo', `chorus-reconnect'.  See README.md next to this file.

;;; Code:

(require 'cl-lib)
(require 'jsonrpc)
(require 'subr-x)
(require 'seq)
(require 'chorus-protocol)

;;;; Customization

(defgroup chorus nil
  "Edit one project together, live, through a Chorus daemon."
  :group 'tools
  :prefix "chorus-"
  :link '(url-link :tag "Protocol" "https://github.com/chorus/chorus/blob/main/protocol/README.md"))

(defcustom chorus-program "chorus"
  "The `chorus' command to run.
A name looked up on variable `exec-path', or an absolute file name.
`chorus-program-args', then \"connect\" and the project root follow it."
  :type 'string)

(defcustom chorus-program-args nil
  "Arguments put before \"connect ROOT\" on the `chorus-program' command line.
For example the daemon's cli.js, when `chorus-program' is \"node\":
  \(\"/path/to/chorus/daemon/dist/cli.js\")"
  :type '(repeat string))

(defcustom chorus-client-name "emacs"
  "How the daemon names this editor in its log and in `chorus-status'."
  :type 'string)

(defcustom chorus-reconnect-min-delay 0.25
  "Seconds before the first reconnection attempt after the daemon went away.
Each further attempt waits twice as long, up to `chorus-reconnect-max-delay'."
  :type 'number)

(defcustom chorus-reconnect-max-delay 8.0
  "Longest wait, in seconds, between two reconnection attempts."
  :type 'number)

(defcustom chorus-cursor-delay 0.05
  "Send your cursor and viewport at most this often, in seconds.
The last position always goes out."
  :type 'number)

(defcustom chorus-host nil
  "Where the daemon listens for peers after `chorus-share' and `chorus-join'.
nil means the daemon's default (every interface); \"127.0.0.1\" keeps a
session on this machine."
  :type '(choice (const :tag "Daemon default" nil) string))

(defcustom chorus-manage-modified t
  "Non-nil means a shared buffer is unmodified once the daemon has every edit.
The daemon writes shared files itself, once typing pauses.  \\[save-buffer]
still has it write the file at once (`chorus--save-unmodified')."
  :type 'boolean)

(defcustom chorus-auto-save-directory
  (expand-file-name "chorus-auto-save/" user-emacs-directory)
  "Directory for the auto-save files of shared buffers.
Not next to the file: a `#file#' in the project would be shared with every
peer."
  :type 'directory)

(defcustom chorus-events-buffer-size 0
  "Characters of protocol traffic kept in the events buffer; 0 keeps none.
Raise it (or set it to nil, unlimited) to debug: the buffer is
`*chorus ROOT events*'."
  :type '(choice (const :tag "Unlimited" nil) integer))

(defcustom chorus-open-check-delay 5
  "Seconds an unanswered open of a buffer waits before Chorus checks on it.
It then asks the daemon something small: answers come in the order asked,
so an answer to that while the open has none means the open's answer was
lost, and the buffer is opened again.  No answer means the daemon is busy:
it is asked again after as long, and after 30 s the person is told."
  :type 'number)

(defcustom chorus-debug nil
  "Non-nil means report internal re-synchronisations of buffers."
  :type 'boolean)

(defface chorus-peer-label '((t :weight bold))
  "Base face of the name label shown after a remote cursor.
Each colour's label face inherits from it.")

;;;; Protocol

(defvar chorus-mode) ; defined with the minor mode below
(defvar global-chorus-mode) ; likewise

(eval-and-compile
  (defun chorus--method-name (key)
    "The protocol method name for KEY in `chorus-protocol-methods', or an
error."
    (or (alist-get key chorus-protocol-methods)
        (error "Chorus: no protocol method `%s' in chorus-protocol.el" key))))

(defmacro chorus--method (key)
  "The method for KEY (a symbol such as buffer-edit), resolved at compile time.
The value is the method name as a symbol (buffer/edit), which is what `jsonrpc'
sends.  A method missing from the generated protocol table breaks the build."
  `(quote ,(intern (chorus--method-name key))))

(defun chorus--error-code (key)
  "The protocol error code for KEY in `chorus-protocol-errors'."
  (alist-get key chorus-protocol-errors))

(defun chorus--exit-code (key)
  "The exit code of the chorus command for KEY in `chorus-protocol-exit-codes'."
  (alist-get key chorus-protocol-exit-codes))

(defclass chorus-connection (jsonrpc-process-connection)
  ((project :initarg :project :accessor chorus--connection-project
            :documentation "The `chorus--project' this connection serves."))
  :documentation "A JSON-RPC connection to a Chorus daemon, over `chorus
connect'.")

(cl-defgeneric chorus-handle-notification (connection method &rest params)
  "Handle the notification METHOD from CONNECTION.
METHOD is a symbol such as buffer/didChange; PARAMS is the notification's
params as a plist.  Unknown notifications are ignored."
  (:method (_connection _method &rest _params) nil))

(defmacro chorus--defnotification (key args docstring &rest body)
  "Handle the daemon's notification KEY (from `chorus-protocol-methods').
ARGS are the params' keys; BODY runs with them and with `conn', the connection.
DOCSTRING documents the handler."
  (declare (indent 2) (doc-string 3))
  `(cl-defmethod chorus-handle-notification
     ((conn chorus-connection) (_method (eql ,(intern (chorus--method-name key))))
      &key ,@args &allow-other-keys)
     ,docstring
     (ignore conn)
     ,@body))

(defun chorus--dispatch-notification (conn method params)
  "Dispatch METHOD with PARAMS from CONN to `chorus-handle-notification'.
A failing handler is reported and changes nothing else."
  (condition-case err
      (apply #'chorus-handle-notification conn method params)
    (error (chorus--message "error handling %s: %s" method (error-message-string err)))))

(defconst chorus--bidi-controls
  "[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
  "Regexp of the bidirectional controls: marks, embeddings, overrides, isolates.
A name holding one (U+202E, say) displays the text after it reordered
\(\"Trojan Source\", CVE-2021-42574).  The daemon escapes the same set in
what it prints (daemon/src/log-line.ts); Neovim shows them as <202e>.")

(defun chorus--visible (text)
  "TEXT with each bidirectional control written as an escape, as \\u202e.
TEXT that is not a string is returned as it is."
  (if (and (stringp text) (string-match-p chorus--bidi-controls text))
      (replace-regexp-in-string chorus--bidi-controls
                                (lambda (c) (format "\\u%04x" (aref c 0)))
                                text t t)
    text))

(defun chorus--message (format-string &rest args)
  "Show a Chorus message: FORMAT-STRING with ARGS, prefixed by \"chorus: \".
Bidirectional controls in ARGS (names, paths, texts from peers) are shown
as escapes, so none reorders the rest of the message."
  (message "chorus: %s" (apply #'format-message format-string (mapcar #'chorus--visible args))))

(defun chorus--debug (format-string &rest args)
  "Show FORMAT-STRING with ARGS when `chorus-debug' is set."
  (when chorus-debug (apply #'chorus--message format-string args)))

(defun chorus--error-text (err)
  "A person-readable text for ERR, a JSON-RPC error plist."
  (or (plist-get err :message) (format "%S" err)))

;;;; Projects and their connections

(cl-defstruct (chorus--project (:constructor chorus--project-make))
  "One project root and its connection to the daemon."
  root          ; absolute, with a trailing slash
  conn          ; the current `chorus-connection', or nil
  (state 'idle) ; idle connecting ready lost stopped failed closed
  info          ; the initialize result
  (attempts 0)
  said-lost
  retry-timer
  following     ; the peer plist being followed
  last-reveal
  renames       ; recent renames the daemon told of, ((FROM . TO) ...), newest first
  no-save       ; the daemon answered buffer/save "method not found" (older); until a reconnect
  (unanswered (make-hash-table)) ; buffer/edit requests sent, not answered: number -> when sent
  answer-timer  ; checks `unanswered' while it holds any (`chorus--check-answers')
  said-slow)    ; the person was told the daemon has not answered their typing

(defvar chorus--projects (make-hash-table :test #'equal)
  "Project root -> `chorus--project'.")

(defun chorus--find-root (file)
  "The root of the Chorus project holding FILE, or nil.
The root is the nearest folder above FILE with a `.chorus/' folder."
  (when-let ((dir (locate-dominating-file
                   file (lambda (d) (file-directory-p (expand-file-name ".chorus" d))))))
    (file-name-as-directory (file-truename dir))))

(defun chorus--program ()
  "The full file name of `chorus-program', or nil when it cannot be found."
  (if (file-name-absolute-p chorus-program)
      (and (file-executable-p chorus-program) chorus-program)
    (executable-find chorus-program)))

(defun chorus--project (root)
  "The project for ROOT, connecting to its daemon if needed."
  (let ((project (gethash root chorus--projects)))
    (unless project
      (setq project (chorus--project-make :root root))
      (puthash root project chorus--projects)
      (chorus--connect project))
    project))

(defun chorus--ready-p (project)
  "Non-nil when PROJECT's connection is initialized."
  (eq (chorus--project-state project) 'ready))

(defun chorus--connect (project &optional retry)
  "Start `chorus connect' for PROJECT and initialize it (asynchronously).
RETRY: an automatic reconnect, which must not start a daemon stopped with
`chorus stop' (`chorus connect --reconnect' exits saying so instead)."
  (unless (memq (chorus--project-state project) '(connecting ready stopped closed failed))
    (let ((program (chorus--program))
          (root (chorus--project-root project)))
      (if (not program)
          (progn
            (setf (chorus--project-state project) 'failed)
            (chorus--message "cannot find `%s' on `exec-path'; install Chorus or set `chorus-program'"
                             chorus-program))
        (setf (chorus--project-state project) 'connecting)
        (let* ((name (format "chorus %s" (directory-file-name root)))
               (default-directory root)
               (conn
                (make-instance
                 'chorus-connection
                 :name name
                 :project project
                 :events-buffer-scrollback-size chorus-events-buffer-size
                 :notification-dispatcher #'chorus--dispatch-notification
                 :on-shutdown #'chorus--on-shutdown
                 :process
                 (lambda ()
                   (make-process
                    :name name
                    :command (append (list program) chorus-program-args
                                     (list "connect")
                                     (and retry (list "--reconnect"))
                                     (list (directory-file-name root)))
                    :connection-type 'pipe
                    :coding 'utf-8-emacs-unix
                    :noquery t
                    :stderr (get-buffer-create (format "*%s stderr*" name)))))))
          (setf (chorus--project-conn project) conn)
          ;; jsonrpc reports every exit with a message of its own; the person hears of it once,
          ;; from `chorus--lost'.
          (let ((proc (jsonrpc--process conn)))
            (set-process-query-on-exit-flag proc nil)
            (set-process-sentinel
             proc (lambda (p change)
                    (let ((inhibit-message t) (message-log-max nil))
                      (jsonrpc--process-sentinel p change))))
            (set-process-filter proc #'chorus--process-filter))
          (chorus--initialize project conn))))))

(defun chorus--process-filter (proc string)
  "Hand STRING, output of PROC, to jsonrpc's filter, never re-entering it.
A handler run by that filter may send (the answer to the first, content-less
open of a re-open sends the buffer's text and `base', twice a large file's
size).  When the pipe is full (the daemon busy, or a large message) Emacs
waits inside `process-send-string' and reads PROC's output meanwhile, which
called this filter again inside itself; jsonrpc 1.0.14 (Emacs 28) does not
survive that: it parsed the stream from the wrong place and dropped answers
\(\"Invalid JSON\"), and the buffers whose open lost its answer stayed
\"opening\" for good (a trial: 4 of 4 after a reconnect; Emacs bug#60088, fixed
in later jsonrpc).  Output that arrives meanwhile is queued and handled, in
order, once the running handler returns."
  (process-put proc 'chorus-queue (nconc (process-get proc 'chorus-queue) (list string)))
  (unless (process-get proc 'chorus-filtering)
    (process-put proc 'chorus-filtering t)
    (unwind-protect
        (while (process-get proc 'chorus-queue)
          (let ((next (car (process-get proc 'chorus-queue))))
            (process-put proc 'chorus-queue (cdr (process-get proc 'chorus-queue)))
            ;; A failing handler must not leave the rest of the queue unread until more output.
            (condition-case err
                (jsonrpc--process-filter proc next)
              (error (chorus--debug "handling the daemon's output: %s" (error-message-string err))))))
      (process-put proc 'chorus-filtering nil))))

(defun chorus--initialize (project conn)
  "Send initialize on CONN for PROJECT; on success re-open PROJECT's buffers."
  (jsonrpc-async-request
   conn (chorus--method initialize)
   (list :protocolVersion chorus-protocol-version
         :clientInfo (list :name chorus-client-name :version emacs-version)
         ;; Code points are Emacs's own positions: see docs/decisions/045.
         :positionEncodings ["utf-32"])
   :timeout 30
   :success-fn
   (lambda (result)
     (when (eq conn (chorus--project-conn project))
       (if (not (equal (plist-get result :positionEncoding) "utf-32"))
           (chorus--fail project "the daemon cannot use utf-32 positions; update chorus")
         (setf (chorus--project-info project) result
               ;; Another daemon may answer now (an update between runs): ask it again.
               (chorus--project-no-save project) nil
               (chorus--project-state project) 'ready
               (chorus--project-attempts project) 0)
         (when (chorus--project-said-lost project)
           (setf (chorus--project-said-lost project) nil)
           (chorus--message "reconnected to the daemon for %s" (chorus--project-root project)))
         (chorus--connection-ready project))))
   :error-fn
   (lambda (err)
     (when (eq conn (chorus--project-conn project))
       (if (eql (plist-get err :code) (chorus--error-code 'unsupported-protocol-version))
           (chorus--fail project (chorus--error-text err))
         (chorus--lost project (format "initialize failed: %s" (chorus--error-text err))))))
   :timeout-fn
   (lambda ()
     (when (eq conn (chorus--project-conn project))
       (chorus--lost project "the daemon did not answer initialize")))))

(defun chorus--kill-connection (project)
  "Stop PROJECT's connection process, if any, without reporting it as lost."
  ;; Requests of a connection that went are never answered: not waited for any more.
  (clrhash (chorus--project-unanswered project))
  (setf (chorus--project-said-slow project) nil)
  (chorus--stop-watching-answers project)
  (when-let ((conn (chorus--project-conn project)))
    (setf (chorus--project-conn project) nil)
    (let ((proc (jsonrpc--process conn)))
      (when (process-live-p proc) (delete-process proc)))))

(defun chorus--fail (project why)
  "Give up on PROJECT for good, saying WHY.
A stale plugin or daemon must fail loudly instead of retrying."
  (chorus--kill-connection project)
  (setf (chorus--project-state project) 'failed)
  (chorus--message "%s" why))

(defun chorus--on-shutdown (conn)
  "The process of CONN exited."
  (let ((project (chorus--connection-project conn)))
    (when (eq conn (chorus--project-conn project))
      (chorus--lost project (format "the connection process exited with status %s"
                                    (process-exit-status (jsonrpc--process conn)))))))

(defun chorus--stopped-by-command-p (project)
  "Non-nil when PROJECT's connection process exited saying its daemon was
stopped with `chorus stop' (and not started again since)."
  (when-let ((conn (chorus--project-conn project)))
    (let ((proc (jsonrpc--process conn)))
      (and (not (process-live-p proc))
           (eql (process-exit-status proc) (chorus--exit-code 'stopped-by-command))))))

(defun chorus--stopped (project)
  "PROJECT's daemon was stopped with `chorus stop': stop retrying, say so once.
Buffers stay editable; `chorus-reconnect' starts the daemon again."
  (unless (memq (chorus--project-state project) '(closed failed stopped))
    (let ((was-ready (chorus--ready-p project)))
      (chorus--kill-connection project)
      (chorus--cancel-retry project)
      (setf (chorus--project-state project) 'stopped
            ;; `chorus-reconnect' then says "reconnected", as after any outage.
            (chorus--project-said-lost project) t)
      ;; From a timer: this runs inside the process sentinel, whose own report is silenced.
      (run-at-time 0 nil #'chorus--message
                   "the daemon for %s was stopped with `chorus stop'; your buffers stay editable but are not shared until you run M-x chorus-reconnect, which starts it again"
                   (chorus--project-root project))
      (when was-ready
        (chorus--connection-lost project)))))

(defun chorus--lost (project why)
  "Handle the loss of PROJECT's daemon (WHY).
Say so once, keep buffers editable and retry with backoff.  A daemon
stopped with `chorus stop' is `chorus--stopped' instead: no retry."
  (if (chorus--stopped-by-command-p project)
      (chorus--stopped project)
    (chorus--lost-retry project why)))

(defun chorus--lost-retry (project why)
  "Say once that PROJECT's daemon is lost (WHY) and retry with backoff."
  (unless (memq (chorus--project-state project) '(closed failed lost stopped))
    (let ((was-ready (chorus--ready-p project)))
      (chorus--kill-connection project)
      (setf (chorus--project-state project) 'lost)
      (unless (chorus--project-said-lost project)
        (setf (chorus--project-said-lost project) t)
        ;; From a timer: this runs inside the process sentinel, whose own report is silenced.
        (run-at-time 0 nil #'chorus--message
                     "lost the daemon for %s (%s); your buffers stay editable, reconnecting…"
                     (chorus--project-root project) why))
      (when was-ready
        (chorus--connection-lost project))
      (let ((delay (min chorus-reconnect-max-delay
                        (* chorus-reconnect-min-delay (expt 2 (chorus--project-attempts project))))))
        (cl-incf (chorus--project-attempts project))
        (chorus--cancel-retry project)
        (setf (chorus--project-retry-timer project)
              (run-at-time delay nil #'chorus--retry project))))))

(defun chorus--retry (project)
  "Try to reconnect PROJECT after a backoff."
  (setf (chorus--project-retry-timer project) nil)
  (when (eq (chorus--project-state project) 'lost)
    (chorus--connect project t)))

(defun chorus--cancel-retry (project)
  "Cancel PROJECT's pending reconnection timer."
  (when-let ((timer (chorus--project-retry-timer project)))
    (cancel-timer timer)
    (setf (chorus--project-retry-timer project) nil)))

(defun chorus--close-project (project)
  "Stop PROJECT's connection for good (Emacs is exiting)."
  (chorus--cancel-retry project)
  (setf (chorus--project-state project) 'closed)
  (chorus--kill-connection project))

(defun chorus--kill-emacs ()
  "Close every connection: others see this editor's cursors go."
  (maphash (lambda (_ project) (chorus--close-project project)) chorus--projects))

(add-hook 'kill-emacs-hook #'chorus--kill-emacs)

(cl-defun chorus--request (project method params &key success error)
  "Send request METHOD with PARAMS to PROJECT's daemon, asynchronously.
SUCCESS is called with the result; ERROR (default: show the message) with
the error plist.  An edit (buffer/edit) unanswered for
`chorus--slow-answer-seconds' is said (`chorus--check-answers')."
  (let ((conn (chorus--project-conn project))
        (error (or error (lambda (err) (chorus--report method err))))
        (success (or success #'ignore)))
    (if (not (and conn (chorus--ready-p project)))
        (funcall error (list :code -1 :message (format "not connected to the daemon for %s"
                                                       (chorus--project-root project))))
      (let ((key (and (equal method (chorus--method buffer-edit))
                      (chorus--watch-answer project))))
        (jsonrpc-async-request conn method params
                               :timeout nil
                               :success-fn (if key
                                               (lambda (result)
                                                 (chorus--answered project key)
                                                 (funcall success result))
                                             success)
                               :error-fn (if key
                                             (lambda (err)
                                               (chorus--answered project key)
                                               (funcall error err))
                                           error))))))

;; An edit the daemon has not answered for this long is said, once, with what it means: a daemon
;; stopped (`kill -STOP', a suspended terminal) keeps the connection open and answers nothing,
;; and the editor said nothing while the person typed on (trial s55a, F6 for Neovim).  Only
;; edits count: a join or a share may rightly take minutes, and an open has its own check
;; (`chorus-open-check-delay').
(defconst chorus--slow-answer-seconds 10
  "Seconds an edit waits for the daemon's answer before the person is told.")
(defconst chorus--answer-check-seconds 2
  "How often unanswered edits are looked at while there are any.")
(defvar chorus--requests 0 "Edits sent by this Emacs, numbering `chorus--project-unanswered'.")

(defun chorus--watch-answer (project)
  "Note an edit sent to PROJECT's daemon now; its number, for `chorus--answered'."
  (let ((key (cl-incf chorus--requests)))
    (puthash key (float-time) (chorus--project-unanswered project))
    (unless (chorus--project-answer-timer project)
      (setf (chorus--project-answer-timer project)
            (run-at-time chorus--answer-check-seconds chorus--answer-check-seconds
                         #'chorus--check-answers project)))
    key))

(defun chorus--answered (project key)
  "The edit numbered KEY was answered by PROJECT's daemon."
  (remhash key (chorus--project-unanswered project)))

(defun chorus--stop-watching-answers (project)
  "Stop looking at PROJECT's unanswered edits."
  (when-let ((timer (chorus--project-answer-timer project)))
    (cancel-timer timer)
    (setf (chorus--project-answer-timer project) nil)))

(defun chorus--check-answers (project)
  "Say once that PROJECT's daemon has not answered an edit for a while,
and once that it answers again."
  (let ((oldest nil) (waiting 0))
    (maphash (lambda (_ at)
               (cl-incf waiting)
               (when (or (null oldest) (< at oldest)) (setq oldest at)))
             (chorus--project-unanswered project))
    (cond
     ((zerop waiting)
      (chorus--stop-watching-answers project)
      (when (chorus--project-said-slow project)
        (setf (chorus--project-said-slow project) nil)
        (chorus--message "the daemon for %s %s" (chorus--project-root project)
                         (alist-get 'daemon-answers-again chorus-protocol-session-words))))
     ((and (not (chorus--project-said-slow project))
           (>= (- (float-time) oldest) chorus--slow-answer-seconds))
      (setf (chorus--project-said-slow project) t)
      ;; The words every client says (protocol/src/session-words.ts, notAnsweringWords).
      (chorus--message
       "the daemon for %s has not answered your typing for %d s (%d %s waiting): %s"
       (chorus--project-root project) (floor (- (float-time) oldest)) waiting
       (if (= waiting 1) "edit" "edits") (alist-get 'daemon-not-answering chorus-protocol-session-words))))))

(defun chorus--notify (project method params)
  "Send notification METHOD with PARAMS to PROJECT's daemon when connected.
A notification expects no answer: when the bridge process has just gone (a
`chorus stop', before its sentinel marks the project), it is dropped rather
than signalled, so that killing a buffer or moving the cursor never fails."
  (when-let ((conn (and (chorus--ready-p project) (chorus--project-conn project))))
    (when (jsonrpc-running-p conn)
      (condition-case nil
          (jsonrpc-notify conn method params)
        (error nil)))))

(defun chorus--report (method err)
  "Show ERR, the error answer to METHOD."
  (if (eql (plist-get err :code) (chorus--error-code 'method-not-found))
      (chorus--message "this daemon does not support %s yet; update chorus" method)
    (chorus--message "%s" (chorus--error-text err))))

;;;; Positions and texts
;;
;; A position is (:line L :character C): L counts "\n", C counts code points (utf-32), which
;; are exactly Emacs's characters.  The daemon's text is the file as written: in a buffer whose
;; file has DOS line ends, Emacs holds "\n" where the daemon holds "\r\n".  The "\r" is always
;; at the end of its line, so lines and columns are the same on both sides: only text crosses
;; the boundary converted (`chorus--to-model', `chorus--from-model').

(defun chorus--pos-of (point)
  "The protocol position of POINT in the current (widened) buffer."
  (save-excursion
    (goto-char point)
    (let ((bol (progn (forward-line 0) (point))))
      (list :line (1- (line-number-at-pos point t)) :character (- point bol)))))

(defun chorus--point-of (pos &optional clamp)
  "The buffer position of protocol position POS in the current (widened) buffer.
A position past its line's end is an error, or with CLAMP the line's end."
  (save-excursion
    (goto-char (point-min))
    (let ((line (plist-get pos :line)) (char (plist-get pos :character)))
      (when (or (> (forward-line line) 0) (not (bolp)))
        (if clamp (goto-char (point-max))
          (error "Line %d is past the end of the buffer" line)))
      (let ((eol (line-end-position)))
        (cond ((<= (+ (point) char) eol) (+ (point) char))
              (clamp eol)
              (t (error "Character %d is past the end of line %d" char line)))))))

(defun chorus--advance (line char text)
  "The position (LINE . CHAR) moved past TEXT, as a protocol position plist."
  (let ((newlines (cl-count ?\n text)))
    (if (zerop newlines)
        (list :line line :character (+ char (length text)))
      (list :line (+ line newlines)
            :character (- (length text) 1 (cl-position ?\n text :from-end t))))))

(defun chorus--range (start end)
  "A protocol range from START to END (positions)."
  (list :start start :end end))

;;;; Shared buffers

(cl-defstruct (chorus--state (:constructor chorus--state-make))
  "What Chorus keeps for one shared buffer."
  buffer project
  path             ; as the daemon names it (relative to the root), once opened
  (status 'new)    ; new opening open offline failed closed
  (editor-rev 0)   ; buffer/edit sent since the last open
  (daemon-rev 0)   ; buffer/didChange applied since the last open
  (dropped 0)      ; buffer/didChange dropped (stale)
  pending          ; local changes not yet sent, newest first: (change inverse new-step)
  flush-timer
  (in-flight 0)
  unconfirmed      ; ((seq id . inverses-in-order) …), newest first
  (epoch 0)        ; bumped by every open: answers from before are ignored
  base             ; the text last in step with the daemon, for the next open (nil: ours wins)
  base-pending     ; with base: unanswered edits sent after it, ((:id ID :text TEXT) …) oldest first
  before           ; the pending before-change record
  undo-mark        ; the head of `buffer-undo-list' after the last local change
  reverting        ; the text before a `revert-buffer' in progress
  opened           ; an open of this buffer succeeded once: a later one is a re-open
  sent             ; the text the running open sent as `content' (nil: none sent yet)
  open-timer       ; the check of the running open (`chorus--check-open')
  open-since       ; when the buffer started opening (float seconds)
  slow             ; the person was told the daemon has not answered the open
  keep-copy        ; the person's text, kept aside if the open's answer differs from it
  crlf             ; the file has DOS line ends
  written-tick)    ; `buffer-chars-modified-tick' when the file last held the text (nil: unknown)

(defvar-local chorus--state nil
  "The `chorus--state' of a shared buffer.")
(put 'chorus--state 'permanent-local t)

(defvar chorus--applying nil
  "Non-nil while remote changes are being applied: they are not sent back.")

(defun chorus--crlf-p ()
  "Non-nil when the current buffer's file has DOS line ends."
  (eq (coding-system-eol-type buffer-file-coding-system) 1))

(defun chorus--to-model (state text)
  "Convert TEXT from STATE's buffer to the daemon's text.
Line feeds become CR LF where the file has DOS line ends."
  (if (chorus--state-crlf state) (string-replace "\n" "\r\n" text) text))

(defun chorus--from-model (state text)
  "The daemon's TEXT as STATE's buffer holds it."
  (if (chorus--state-crlf state) (string-replace "\r\n" "\n" text) text))

(defun chorus--model-text (state)
  "The text of STATE's buffer as the daemon holds it: the file as written."
  (with-current-buffer (chorus--state-buffer state)
    (save-restriction
      (widen)
      (chorus--to-model state (buffer-substring-no-properties (point-min) (point-max))))))

(defun chorus--find-state (project path)
  "The shared buffer state for daemon PATH in PROJECT, or nil."
  (cl-loop for buf in (buffer-list)
           for st = (buffer-local-value 'chorus--state buf)
           when (and st (eq (chorus--state-project st) project)
                     (equal (chorus--state-path st) path)
                     (memq (chorus--state-status st) '(open opening offline)))
           return st))

(defun chorus--project-states (project)
  "Every shared buffer state of PROJECT."
  (cl-loop for buf in (buffer-list)
           for st = (buffer-local-value 'chorus--state buf)
           when (and st (eq (chorus--state-project st) project)) collect st))

;;;;; Local changes -> buffer/edit

(defun chorus--before-change (beg end)
  "Record the region BEG..END about to change, with its position and text.
A failure here must never reach Emacs, which would drop the hook for
good: the buffer is re-opened instead."
  (when-let ((state chorus--state))
    (unless (or chorus--applying (chorus--state-reverting state))
      (condition-case err
          (save-restriction
            (widen)
            (setf (chorus--state-before state)
                  (list beg end (chorus--pos-of beg)
                        (buffer-substring-no-properties beg end))))
        (error
         (setf (chorus--state-before state) nil)
         (chorus--debug "before-change %s %s: %s" beg end (error-message-string err)))))))

(defun chorus--common-prefix (a b)
  "The length of the common prefix of strings A and B."
  (let ((cmp (compare-strings a nil nil b nil nil)))
    (if (eq cmp t) (length a) (1- (abs cmp)))))

(defun chorus--common-suffix (a b limit)
  "The length of the common suffix of A and B, at most LIMIT."
  (let ((i 0) (la (length a)) (lb (length b)))
    (while (and (< i limit) (eq (aref a (- la i 1)) (aref b (- lb i 1))))
      (cl-incf i))
    i))

(defun chorus--after-change (beg end old-len)
  "Queue the change BEG..END (OLD-LEN characters before) as a protocol change.
A failure here must never reach Emacs, which would drop the hook for good: the
buffer is re-opened instead."
  (when-let ((state chorus--state))
    (unless (or chorus--applying (chorus--state-reverting state))
      (let ((before (chorus--state-before state)))
        (setf (chorus--state-before state) nil)
        (when (eq (chorus--state-status state) 'open)
          (condition-case err
              (save-restriction
                (widen)
                (if (and before (<= (nth 0 before) beg) (<= (+ beg old-len) (nth 1 before)))
                    (chorus--queue-change state before (+ (nth 1 before) (- end beg old-len)))
                  (chorus--out-of-step state "a change Emacs did not announce")))
            (error (chorus--out-of-step
                    state (format "after-change: %s" (error-message-string err))))))))))

(defun chorus--queue-change (state before new-end)
  "Queue the change of STATE's buffer announced by BEFORE, now ending at NEW-END.
BEFORE is (BEG END POSITION OLD-TEXT) from `chorus--before-change'.  The
old and new text of the region are compared and only what differs is sent."
  (pcase-let* ((`(,b-beg ,_ ,b-pos ,old-text) before)
               (new-text (buffer-substring-no-properties b-beg new-end))
               (prefix (chorus--common-prefix old-text new-text))
               (suffix (chorus--common-suffix
                        old-text new-text
                        (- (min (length old-text) (length new-text)) prefix)))
               (removed (substring old-text prefix (- (length old-text) suffix)))
               (inserted (substring new-text prefix (- (length new-text) suffix))))
    (unless (and (string-empty-p removed) (string-empty-p inserted))
      (let* ((start (chorus--advance (plist-get b-pos :line) (plist-get b-pos :character)
                                     (substring old-text 0 prefix)))
             (l (plist-get start :line))
             (c (plist-get start :character)))
        (chorus--queue
         state
         (list :range (chorus--range start (chorus--advance l c removed))
               :text (chorus--to-model state inserted))
         (list :range (chorus--range start (chorus--advance l c inserted))
               :text (chorus--to-model state removed)))))))

(defun chorus--new-undo-step-p (state)
  "Non-nil when Emacs started a new undo step since STATE's last local change."
  (let ((mark (chorus--state-undo-mark state))
        (list buffer-undo-list)
        (seen 0) found boundary)
    (when (listp list)
      (while (and list (not found) (< seen 200))
        (if (eq list mark) (setq found t)
          (unless (car list) (setq boundary t))
          (setq list (cdr list) seen (1+ seen))))
      (setf (chorus--state-undo-mark state) buffer-undo-list)
      (or boundary (not found)))))

(defun chorus--queue (state change inverse)
  "Queue CHANGE (with its INVERSE) of STATE's buffer for the next buffer/edit."
  (push (list change inverse (chorus--new-undo-step-p state)) (chorus--state-pending state))
  (unless (chorus--state-flush-timer state)
    ;; After the command: one buffer/edit for all of a command's changes.
    (setf (chorus--state-flush-timer state) (run-at-time 0 nil #'chorus--flush state))))

(defun chorus--flush (state)
  "Send STATE's queued changes: one buffer/edit per Emacs undo step."
  (when-let ((timer (chorus--state-flush-timer state)))
    (cancel-timer timer)
    (setf (chorus--state-flush-timer state) nil))
  (let ((pending (reverse (chorus--state-pending state))))
    (setf (chorus--state-pending state) nil)
    (when (and pending (eq (chorus--state-status state) 'open))
      (let (changes inverses step)
        (dolist (p pending)
          (when (and (nth 2 p) changes)
            (chorus--send-edit state (nreverse changes) (nreverse inverses) step)
            (setq changes nil inverses nil))
          (when (null changes) (setq step (nth 2 p)))
          (push (nth 0 p) changes)
          (push (nth 1 p) inverses))
        (chorus--send-edit state (nreverse changes) (nreverse inverses) step)))))

(defvar chorus--edit-prefix nil
  "The start of this Emacs's edit ids.
Random, so that ids stay unique across daemon restarts and editors.")
(defvar chorus--edit-count 0 "Edits sent by this Emacs, for their ids.")

(defun chorus--next-edit-id ()
  "A new `id' for buffer/edit: this Emacs's random prefix and a counter."
  (unless chorus--edit-prefix
    (setq chorus--edit-prefix
          (format "emacs-%d-%s-" (emacs-pid)
                  (substring (secure-hash 'sha256 (format "%s %s %s" (emacs-pid) (float-time)
                                                          (random)))
                             0 12))))
  (format "%s%d" chorus--edit-prefix (cl-incf chorus--edit-count)))

(defun chorus--send-edit (state changes inverses undo-stop)
  "Send CHANGES of STATE's buffer as one buffer/edit.
INVERSES undo them; UNDO-STOP non-nil starts a new undo step."
  (let ((revision (chorus--state-daemon-rev state))
        (seq (cl-incf (chorus--state-editor-rev state)))
        (id (chorus--next-edit-id))
        (epoch (chorus--state-epoch state)))
    (cl-incf (chorus--state-in-flight state))
    (push (cl-list* seq id inverses) (chorus--state-unconfirmed state))
    (chorus--request
     (chorus--state-project state) (chorus--method buffer-edit)
     (append (list :path (chorus--state-path state) :revision revision
                   :changes (vconcat changes) :id id)
             (and undo-stop '(:undoStop t)))
     :success
     (lambda (_)
       (when (= epoch (chorus--state-epoch state))
         (cl-decf (chorus--state-in-flight state))
         (setf (chorus--state-unconfirmed state)
               (cl-remove-if (lambda (g) (<= (car g) seq)) (chorus--state-unconfirmed state)))
         (chorus--settle state)))
     :error
     (lambda (err)
       (when (= epoch (chorus--state-epoch state))
         (cl-decf (chorus--state-in-flight state))
         ;; Not when the connection just died: jsonrpc's sentinel calls each waiting
         ;; request's error function before ours says it went, and an open sent on the dead
         ;; process was "error in process sentinel: ... not running" (trial s56b P4).  The
         ;; reconnect opens the buffer again.
         (when (and (eq (chorus--state-status state) 'open)
                    (chorus--ready-p (chorus--state-project state))
                    (when-let ((conn (chorus--project-conn (chorus--state-project state))))
                      (jsonrpc-running-p conn)))
           ;; Out of step: re-open with our text; the daemon merges our changes since the
           ;; text we last had in step (or since the newest later edit it applied).
           (chorus--remember-base state)
           (chorus--open state (format "buffer/edit failed: %s" (chorus--error-text err)))))))))

(defun chorus--settle (state)
  "Mark STATE's buffer unmodified when the daemon has every edit.
With nothing unsent there is nothing unsaved: the daemon writes the file."
  (when (and chorus-manage-modified
             (eq (chorus--state-status state) 'open)
             (null (chorus--state-pending state))
             (zerop (chorus--state-in-flight state))
             (buffer-live-p (chorus--state-buffer state)))
    (with-current-buffer (chorus--state-buffer state)
      (set-buffer-modified-p nil))))

(defun chorus--out-of-step (state why)
  "Re-open STATE's buffer, which changed in a way no change can describe (WHY).
Our text wins where it differs."
  (chorus--set-base state nil)
  (run-at-time 0 nil #'chorus--open state why))

(defun chorus--apply-to-string (text changes)
  "TEXT with protocol CHANGES applied in order, or nil when one does not fit."
  (with-temp-buffer
    (insert text)
    (condition-case nil
        (progn
          (dolist (ch changes)
            (let* ((range (plist-get ch :range))
                   (s (chorus--point-of (plist-get range :start)))
                   (e (chorus--point-of (plist-get range :end))))
              (delete-region s e)
              (goto-char s)
              (insert (plist-get ch :text))))
          (buffer-string))
      (error nil))))

(defun chorus--base-and-pending (state)
  "The text STATE's buffer last had in step with the daemon, and what came after.
That is the current text with every change the daemon has not confirmed
undone.  (A remote change is applied only once the daemon has every edit we
sent, so none sits between unconfirmed ones.)  The value is (BASE . PENDING):
PENDING lists the unconfirmed edits oldest first as (:id ID :text TEXT), TEXT
being the text right after the edit (`pending' of buffer/open).  BASE is nil
when it cannot be told."
  (let ((text (chorus--model-text state)) pending)
    (cl-loop for p in (chorus--state-pending state) ; newest first
             while text do (setq text (chorus--apply-to-string text (list (nth 1 p)))))
    (cl-loop for group in (chorus--state-unconfirmed state) ; newest first
             while text
             do (push (list :id (nth 1 group) :text text) pending)
             (setq text (chorus--apply-to-string text (reverse (cddr group)))))
    (cons text (and text pending))))

(defun chorus--base-text (state)
  "The text STATE's buffer last had in step with the daemon, or nil.
See `chorus--base-and-pending'."
  (car (chorus--base-and-pending state)))

(defconst chorus--max-pending 64
  "The protocol's limit on `pending'.
The daemon applies edits in order, so the newest are the ones sent.")

(defun chorus--remember-base (state)
  "Set STATE's `base' and `base-pending' for the next open.
They are the text last in step and the unanswered edits sent since, which the
daemon may have applied before the connection went."
  (pcase-let ((`(,base . ,pending) (chorus--base-and-pending state)))
    (setf (chorus--state-base state) base
          (chorus--state-base-pending state)
          (last pending chorus--max-pending))))

(defun chorus--set-base (state text)
  "STATE's `base' is TEXT from now on: a text the daemon merged or will take in.
No edit sent before it is pending any more: an older pending text must never
replace a newer base."
  (setf (chorus--state-base state) text
        (chorus--state-base-pending state) nil))

;;;;; buffer/didChange -> the buffer

(defun chorus--shift (x a b n &optional right)
  "Return position X after [A,B) was replaced by N characters.
At A itself, X stays unless RIGHT; inside the replaced text X goes to its
start."
  (cond ((or (< x a) (and (= x a) (not right))) x)
        ((>= x b) (+ x n (- a b)))
        ((= x a) (+ a n))
        (t a)))

(defun chorus--unshift-through (x beg end kind)
  "Return position X as it was before an undo entry of KIND at BEG..END.
KIND insert: the entry inserted BEG..END; delete: it deleted END-BEG
characters at BEG."
  (pcase kind
    ('insert (cond ((<= x beg) x) ((>= x end) (- x (- end beg))) (t beg)))
    ('delete (if (< x beg) x (+ x (- end beg))))
    (_ x)))

(defun chorus--transform-undo-list (a b n)
  "Keep `buffer-undo-list' valid after a remote change.
The change replaced [A,B) by N characters.  Remote changes are not
recorded (undo undoes only this person's edits); every recorded position
is moved past the change, walking from the newest entry to the oldest and
carrying the change back through each entry.  Entries whose text others
deleted become no-ops."
  (let ((l buffer-undo-list))
    (when (listp l)
      (while l
        (let ((e (car l)))
          (pcase e
            (`(,(and beg (pred integerp)) . ,(and end (pred integerp)))
             (let ((nb (chorus--shift beg a b n t)) (ne (chorus--shift end a b n)))
               (cond ((>= nb ne) (setcar e 'apply) (setcdr e (list #'ignore)))
                     ((and (= a b) (< beg a end))
                      ;; Typed into the middle of this insertion: keep their text out of it.
                      (setcar e (+ a n)) (setcdr e ne)
                      (setcdr l (cons (cons nb a) (cdr l)))
                      (setq l (cdr l)))
                     (t (setcar e nb) (setcdr e ne)))
               (unless (eq (car e) 'apply)
                 (setq a (chorus--unshift-through a nb ne 'insert)
                       b (chorus--unshift-through b nb ne 'insert)))))
            (`(,(and text (pred stringp)) . ,(and pos (pred integerp)))
             (let ((np (chorus--shift (abs pos) a b n)))
               (setcdr e (if (< pos 0) (- np) np))
               (setq a (chorus--unshift-through a np (+ np (length text)) 'delete)
                     b (chorus--unshift-through b np (+ np (length text)) 'delete))))
            (`(nil ,_prop ,_val ,(and beg (pred integerp)) . ,(and end (pred integerp)))
             (setcar (nthcdr 3 e) (chorus--shift beg a b n t))
             (setcdr (nthcdr 3 e) (chorus--shift end a b n)))
            ((pred integerp) (setcar l (chorus--shift e a b n)))))
        (setq l (cdr l))))))

;; Remote changes are applied with `inhibit-modification-hooks' (nothing echoes back) and
;; without recording them in `buffer-undo-list': Emacs's undo undoes this person's edits only.
;; What the skipped hooks would have done for other modes (syntax cache, fontification) is done
;; here explicitly.

(defun chorus--check-line (pos)
  "Error unless the line of protocol position POS exists in the current buffer."
  (save-excursion
    (goto-char (point-min))
    (when (or (> (forward-line (plist-get pos :line)) 0) (not (bolp)))
      (error "Line %d is past the end of the buffer" (plist-get pos :line)))))

(defun chorus--column (point)
  "The column (in characters) of POINT in the current buffer."
  (save-excursion (goto-char point) (- point (progn (forward-line 0) (point)))))

(defun chorus--apply-change (state change)
  "Apply one protocol CHANGE to STATE's (current, widened) buffer, unrecorded.
Returns (INEXACT START END LENGTH): the replaced region, the inserted length,
and whether the buffer could not hold the change exactly (a line end split or a
lone line end in a file with DOS line ends)."
  (let* ((range (plist-get change :range))
         (spos (plist-get range :start))
         (epos (plist-get range :end))
         (_ (progn (chorus--check-line spos) (chorus--check-line epos)))
         (s (chorus--point-of spos t))
         (e (chorus--point-of epos t))
         (model (plist-get change :text))
         (text (chorus--from-model state model))
         (inexact (or (/= (chorus--column s) (plist-get spos :character))
                      (/= (chorus--column e) (plist-get epos :character))
                      (and (chorus--state-crlf state)
                           (string-match-p "[^\r]\n\\|\\`\n\\|\r\\'\\|\r[^\n]" model))))
         (undo buffer-undo-list))
    (setq buffer-undo-list t)
    (unwind-protect
        (progn
          (goto-char s)
          (unless (= s e) (delete-region s e))
          (insert text))
      (setq buffer-undo-list undo))
    (syntax-ppss-flush-cache s)
    (when (bound-and-true-p font-lock-mode)
      (font-lock-flush s (+ s (length text))))
    (list inexact s e (length text))))

(defun chorus--apply-changes (state changes)
  "Apply protocol CHANGES to STATE's buffer; point and markers stay put.
They stay on their text.  Returns nil, `inexact' (applied, but the buffer
cannot hold the text exactly) or an error message (applied up to the one
that failed)."
  (with-current-buffer (chorus--state-buffer state)
    (save-restriction
      (widen)
      (let ((chorus--applying t)
            (inhibit-modification-hooks t)
            (inhibit-read-only t)
            (inexact nil))
        (condition-case err
            (save-excursion
              (dolist (change changes)
                (pcase-let ((`(,bad ,s ,e ,n) (chorus--apply-change state change)))
                  (when bad (setq inexact t))
                  (chorus--transform-undo-list s e n)))
              (and inexact 'inexact))
          (error (error-message-string err)))))))

;; A remote change is applied between commands, never inside one.  A command that waits for a
;; key while it runs keeps buffer positions as numbers: `query-replace' holds the match it asks
;; about as integers across `read-event', while Emacs runs process filters; a peer's typing
;; applied before the match then made `!' or `y' replace the wrong characters, the peer's among
;; them (trial s53b, fault 4).  So a change that arrives while a command runs (`this-command' is
;; nil only between commands, and in the minibuffer's and a recursive edit's command loop) is
;; held, and every held change is applied, in order, once the command ends.  The revision rule
;; is unchanged: a held change applied after this Emacs sent an edit is dropped as stale, and
;; the daemon sends it again, transformed past the edit.

(defvar chorus--held nil
  "Remote changes held while a command runs, oldest first.
Each is (STATE EPOCH REVISION CHANGES): the buffer/didChange for STATE's buffer,
received during its open EPOCH.")

(defvar chorus--held-timer nil
  "Applies the held changes once no command runs, should no command end.")

(defun chorus--take-change (state revision changes)
  "Apply the remote CHANGES made at REVISION to STATE's buffer.
Dropped as stale when this Emacs sent an edit the daemon had not seen."
  (when (and (eq (chorus--state-status state) 'open)
             (buffer-live-p (chorus--state-buffer state)))
    ;; Our queued typing happened before this arrived: it goes first.
    (chorus--flush state)
    (if (/= revision (chorus--state-editor-rev state))
        (cl-incf (chorus--state-dropped state))
      (cl-incf (chorus--state-daemon-rev state))
      ;; Applied only when the daemon has every edit we sent: all are confirmed.
      (setf (chorus--state-unconfirmed state) nil)
      (let ((problem (chorus--apply-changes state (append changes nil))))
        (cond ((stringp problem)
               (chorus--out-of-step state (format "could not apply a change: %s" problem)))
              (problem
               ;; A DOS buffer cannot hold a lone line feed or carriage return: re-open, so
               ;; that the shared text gets this buffer's line ends.
               (chorus--out-of-step state "a lone line end in a DOS-format buffer"))
              (t (chorus--settle state)))))))

(defun chorus--apply-held ()
  "Apply the held remote changes, oldest first.
One held during an open that has since been replaced is dropped: the re-open's
answer holds it."
  (when chorus--held-timer
    (cancel-timer chorus--held-timer)
    (setq chorus--held-timer nil))
  (remove-hook 'post-command-hook #'chorus--apply-held)
  (while chorus--held
    (pcase-let ((`(,state ,epoch ,revision ,changes) (pop chorus--held)))
      (when (= epoch (chorus--state-epoch state))
        (condition-case err
            (chorus--take-change state revision changes)
          (error (chorus--message "error applying a change to %s: %s"
                                  (chorus--state-path state) (error-message-string err))))))))

(defun chorus--apply-held-when-idle ()
  "Apply the held changes if no command runs; else look again shortly."
  (setq chorus--held-timer nil)
  (if (null this-command)
      (chorus--apply-held)
    (setq chorus--held-timer (run-at-time 0.1 nil #'chorus--apply-held-when-idle))))

(chorus--defnotification buffer-did-change (path revision changes)
  "Apply a remote change when its REVISION matches; drop it otherwise (a
replacement follows).  While a command runs, it is held until the command ends."
  (let ((state (chorus--find-state (chorus--connection-project conn) path)))
    (when (and state (eq (chorus--state-status state) 'open))
      (setq chorus--held
            (nconc chorus--held (list (list state (chorus--state-epoch state) revision changes))))
      (if (null this-command)
          (chorus--apply-held)
        (add-hook 'post-command-hook #'chorus--apply-held)
        (unless chorus--held-timer
          (setq chorus--held-timer (run-at-time 0.1 nil #'chorus--apply-held-when-idle)))))))

;;;;; buffer/didRename -> the buffer

(defvar chorus--renaming nil
  "Non-nil while a buffer follows a rename the daemon told of.
Its new file name is then the daemon's doing, not a `write-file' to share anew.")

(chorus--defnotification buffer-did-rename (from to)
  "A file open here was renamed or moved (by a peer, another tool or a git
checkout): the buffer follows it, as in the Neovim client."
  (when-let ((state (chorus--find-state (chorus--connection-project conn) from)))
    (chorus--follow-rename state from to)))

(defconst chorus--renames-kept 64
  "How many of the daemon's recent renames a project remembers.
See `chorus--moved-from'.")

(chorus--defnotification workspace-did-change (renamed)
  "Files were created, deleted or renamed.  Renames are remembered for a while:
a buffer whose file this Emacs renamed (dired) is shared again under the new
name, and whether the daemon took that as a rename decides the open's `base'."
  (let ((project (chorus--connection-project conn)))
    (seq-doseq (r renamed)
      (push (cons (plist-get r :from) (plist-get r :to)) (chorus--project-renames project)))
    (when (> (length (chorus--project-renames project)) chorus--renames-kept)
      (setf (chorus--project-renames project)
            (seq-take (chorus--project-renames project) chorus--renames-kept)))))

(defun chorus--follow-rename (state from to)
  "Make STATE's buffer visit TO, the new project path of its file FROM.
Text, point, undo, the modified flag and the sharing state stay: the daemon
keeps the buffer open under TO with the same revisions.  Without following,
a re-open (a reconnection) would ask for FROM, which no longer exists."
  (let* ((buffer (chorus--state-buffer state))
         (file (expand-file-name to (chorus--project-root (chorus--state-project state))))
         (other (get-file-buffer file)))
    (when (buffer-live-p buffer)
      ;; Typing queued before this arrived goes out first; the daemon still takes FROM.
      (chorus--flush state)
      (setf (chorus--state-path state) to)
      (when (and other (not (eq other buffer)))
        (chorus--set-aside other to))
      (with-current-buffer buffer
        (let ((chorus--renaming t)
              (modified (buffer-modified-p)))
          ;; No questions, and not marked modified: the file itself moved.
          (set-visited-file-name file t t)
          (set-buffer-modified-p modified)
          ;; Renaming may re-run the major mode, which can leave local hooks out.
          (chorus--install-hooks)
          (chorus--buffer-locals)))
      (chorus--message "%s was renamed to %s (by a peer or on disk); buffer %s now visits it"
                       from to (buffer-name buffer))
      (when (eq (chorus--state-status state) 'opening)
        ;; An open sent for FROM crossed the rename: the daemon takes it for a new, empty FROM
        ;; and its answer would replace our text.  Open again under TO; the new epoch makes the
        ;; crossed answer be ignored.
        (chorus--open state (format "renamed to %s while opening" to))))))

(defun chorus--set-aside (buffer to)
  "BUFFER visited TO, which a renamed file has just replaced: keep its text.
The daemon now has the renamed file at TO, so BUFFER's text is no longer
what TO holds; it stays here, unshared and visiting no file, for the
person to save elsewhere or drop."
  (with-current-buffer buffer
    (when chorus--state
      ;; Not `open': detaching must not send buffer/close for TO, the renamed file's path now.
      (setf (chorus--state-status chorus--state) 'offline))
    (chorus-mode -1)
    (set-visited-file-name nil t)
    (rename-buffer (format "%s (before a rename replaced it)" (file-name-nondirectory to)) t)
    (set-buffer-modified-p t)
    (chorus--message "%s was replaced by a renamed file; your text of it is kept in buffer %s, not shared: save it elsewhere (C-x C-w) to keep it"
                     to (buffer-name))))

;;;;; Opening

(defun chorus--diff (old new)
  "Return one protocol change turning text OLD into NEW, or nil if equal.
The value is (CHANGE . INVERSE); both texts are as the daemon holds them."
  (let* ((prefix (chorus--common-prefix old new))
         (suffix (chorus--common-suffix old new (- (min (length old) (length new)) prefix)))
         (removed (substring old prefix (- (length old) suffix)))
         (inserted (substring new prefix (- (length new) suffix))))
    (unless (and (string-empty-p removed) (string-empty-p inserted))
      (let* ((start (chorus--advance 0 0 (substring old 0 prefix)))
             (l (plist-get start :line))
             (c (plist-get start :character)))
        (cons (list :range (chorus--range start (chorus--advance l c removed)) :text inserted)
              (list :range (chorus--range start (chorus--advance l c inserted)) :text removed))))))

(defun chorus--adopt (state content)
  "Make STATE's buffer hold CONTENT (the daemon's text) by one minimal change.
Returns what `chorus--apply-changes' returns."
  (when-let ((diff (chorus--diff (chorus--model-text state) content)))
    (chorus--apply-changes state (list (car diff)))))

(defun chorus--open (state &optional why)
  "Send buffer/open for STATE with its text and adopt the merged answer.
The open carries `base' when known.  WHY, when given, is reported with
`chorus-debug'."
  (when why (chorus--debug "re-opening %s: %s" (chorus--state-path state) why))
  (let ((project (chorus--state-project state))
        (buffer (chorus--state-buffer state)))
    (cond
     ((not (buffer-live-p buffer)) nil)
     ((memq (chorus--state-status state) '(closed failed)) nil)
     ((not (chorus--ready-p project)) (setf (chorus--state-status state) 'offline))
     (t
      (unless (eq (chorus--state-status state) 'opening)
        (setf (chorus--state-open-since state) (float-time)
              (chorus--state-slow state) nil))
      (setf (chorus--state-status state) 'opening
            (chorus--state-sent state) nil
            (chorus--state-pending state) nil
            (chorus--state-in-flight state) 0
            (chorus--state-unconfirmed state) nil)
      (let ((epoch (cl-incf (chorus--state-epoch state))))
        (chorus--watch-open state epoch)
        (if (chorus--state-opened state)
            (chorus--open-if-there state epoch)
          (chorus--send-open state epoch)))))))

(defun chorus--open-if-there (state epoch)
  "Re-open STATE's buffer (open EPOCH) only if the daemon still has its file.
A re-open carries this buffer's text and `base'; for a file the daemon no
longer has (renamed or deleted while we were away, or a daemon restarted
without it) the daemon would create it empty and merge our text from `base'
into that: the buffer would be emptied and the empty file shared with every
peer.  So the daemon is first asked for the file without content, which never
creates it; see docs/decisions/046 (7)."
  (let ((buffer (chorus--state-buffer state)))
    (chorus--request
     (chorus--state-project state) (chorus--method buffer-open)
     (list :path (buffer-file-name buffer))
     :success
     (lambda (_)
       (when (and (= epoch (chorus--state-epoch state))
                  (eq (chorus--state-status state) 'opening))
         (chorus--send-open state epoch)))
     :error
     (lambda (err)
       (when (and (= epoch (chorus--state-epoch state))
                  (eq (chorus--state-status state) 'opening))
         (if (and (eql (plist-get err :code) (chorus--error-code 'file-not-found))
                  (buffer-live-p buffer))
             (chorus--keep-unshared state)
           ;; Any other answer is the real open's to handle and report.
           (chorus--send-open state epoch)))))))

(defun chorus--keep-unshared (state)
  "Stop sharing STATE's buffer, whose file the daemon no longer has; keep its text.
Sharing it again would re-create a file someone renamed or deleted on every
peer, so that is left to the person: saving the buffer shares it again."
  (let ((buffer (chorus--state-buffer state))
        (path (chorus--state-path state)))
    (with-current-buffer buffer
      ;; The daemon has nothing open (it answered "not found"): detaching sends no buffer/close.
      (setf (chorus--state-status state) 'offline)
      (chorus-mode -1)
      ;; No lock file: a `.#' link in the folder would reach every peer.
      (setq-local create-lockfiles nil)
      ;; The text is in no file now: Emacs must ask before it is killed.
      (set-buffer-modified-p t)
      (add-hook 'after-save-hook #'chorus--share-after-save nil t))
    (chorus--message
     "%s is no longer in the project (renamed or deleted while Emacs was away from the daemon); buffer %s keeps your text but is not shared: save it to share it again as %s, or kill it"
     path (buffer-name buffer) path)))

(defun chorus--share-after-save ()
  "Share the buffer again once the person saved it (see `chorus--keep-unshared')."
  (remove-hook 'after-save-hook #'chorus--share-after-save t)
  (run-at-time 0 nil #'chorus--share-when-taken-in (current-buffer) 15))

(defun chorus--send-open (state epoch)
  "Send buffer/open (open EPOCH) for STATE with its text; adopt the merged answer."
  (let ((project (chorus--state-project state))
        (buffer (chorus--state-buffer state)))
    (when (buffer-live-p buffer)
      (let ((sent (chorus--model-text state))
            (file (buffer-file-name buffer)))
        (setf (chorus--state-sent state) sent)
        (chorus--request
         project (chorus--method buffer-open)
         (append (list :path file :content sent)
                 (and (chorus--state-base state) (list :base (chorus--state-base state)))
                 (and (chorus--state-base state) (chorus--state-base-pending state)
                      (list :pending (vconcat (chorus--state-base-pending state)))))
         :success
         (lambda (result)
           (when (and (= epoch (chorus--state-epoch state))
                      (eq (chorus--state-status state) 'opening)
                      (buffer-live-p buffer))
             (cond
              ((eq (plist-get result :shared) :json-false)
               ;; Ignored (or this folder's own file in view mode): the daemon keeps it on this
               ;; machine and takes no edits of it.  A plain file buffer then, which Emacs saves
               ;; itself; shared, it was marked saved with the file never written.
               (chorus--request project (chorus--method buffer-close) (list :path file)
                                :error #'ignore)
               ;; Closed just now: detaching must not close it again.
               (setf (chorus--state-status state) 'offline)
               (with-current-buffer buffer (chorus-mode -1))
               (chorus--tell-once buffer (or (plist-get result :notShared)
                                             (format "%s is not shared" file))))
              ((not (equal (chorus--model-text state) sent))
               ;; The daemon has merged SENT: merge only what was typed since.
               (chorus--set-base state sent)
               (chorus--open state "the buffer changed while opening"))
              (t
               (chorus--set-base state nil)
               (chorus--cancel-open-watch state)
               (let ((mine (chorus--state-keep-copy state)))
                 (setf (chorus--state-keep-copy state) nil)
                 (when (and mine (not (equal mine (plist-get result :content))))
                   (chorus--keep-copy buffer (chorus--from-model state mine))))
               (when (chorus--state-slow state)
                 (chorus--message "%s is shared again: the daemon answered" (chorus--state-path state)))
               (setf (chorus--state-path state) (plist-get result :path)
                     (chorus--state-sent state) nil
                     (chorus--state-slow state) nil
                     (chorus--state-opened state) t
                     (chorus--state-editor-rev state) 0
                     (chorus--state-daemon-rev state) 0
                     (chorus--state-dropped state) 0)
               (let ((problem (chorus--adopt state (plist-get result :content))))
                 (when (stringp problem)
                   (chorus--replace-all state (plist-get result :content))))
               (setf (chorus--state-status state) 'open)
               (with-current-buffer buffer
                 (setf (chorus--state-undo-mark state) buffer-undo-list))
               (chorus--settle state)
               (chorus--redraw-cursors state)
               (when (eq buffer (window-buffer (selected-window)))
                 (chorus--send-cursor-now))))))
         :error
         (lambda (err)
           (when (= epoch (chorus--state-epoch state))
             (cond
              ((not (chorus--ready-p project))
               (setf (chorus--state-status state) 'offline))
              ((eql (plist-get err :code) (chorus--error-code 'path-outside-project))
               ;; Not a project file (.git/, .chorus/, a link out of the folder): the daemon's
               ;; path rules decide; this buffer is simply not shared.
               (chorus--debug "not sharing %s: %s" file (chorus--error-text err))
               ;; Nothing is open in the daemon: detaching must not close it.
               (setf (chorus--state-status state) 'offline)
               (with-current-buffer buffer (chorus-mode -1)))
              (t
               (setf (chorus--state-status state) 'failed)
               ;; Others' cursors sit on lines that are not this buffer's any more.
               (chorus--hide-cursors state)
               (chorus--tell-once
                buffer
                (if (eql (plist-get err :code) (chorus--error-code 'read-only))
                    (format "cannot share %s: %s. %s no longer follows the session here: it keeps your text, and others' changes do not show in it; saving writes your text to the file here until a writer changes the session's version, which then replaces it there and in this buffer (yours is kept in .chorus/kept/); M-x chorus-reconnect shows the session's text again and follows it (undo then brings your text back)"
                            file (chorus--error-text err) (file-name-nondirectory file))
                  (format "cannot share %s: %s" file (chorus--error-text err)))))))))))))

(defvar-local chorus--told nil
  "The refusals to share this buffer that were shown already.
See `chorus--tell-once'.")
;; Kept across `revert-buffer' and a change of major mode: it lasts as long as the buffer.
(put 'chorus--told 'permanent-local t)

(defun chorus--tell-once (buffer text)
  "Show TEXT, a refusal to share BUFFER, unless BUFFER showed it already.
Every re-open of the buffer (after a refused edit, a reconnection, a revert)
meets the same refusal, as in a folder joined read-only: said once it is
news, said again it is noise."
  (unless (and (buffer-live-p buffer)
               (member text (buffer-local-value 'chorus--told buffer)))
    (when (buffer-live-p buffer)
      (with-current-buffer buffer (push text chorus--told)))
    (chorus--message "%s" text)))

(defun chorus--replace-all (state content)
  "Replace STATE's buffer text with CONTENT, the daemon's text, unrecorded."
  (with-current-buffer (chorus--state-buffer state)
    (save-restriction
      (widen)
      (let ((chorus--applying t) (inhibit-modification-hooks t) (inhibit-read-only t)
            (buffer-undo-list t))
        (erase-buffer)
        (insert (chorus--from-model state content))))
    (buffer-disable-undo)
    (buffer-enable-undo)))

(defun chorus--watch-open (state epoch)
  "Check on STATE's open EPOCH after `chorus-open-check-delay' seconds."
  (chorus--cancel-open-watch state)
  (setf (chorus--state-open-timer state)
        (run-at-time chorus-open-check-delay nil #'chorus--check-open state epoch)))

(defun chorus--cancel-open-watch (state)
  "Cancel the pending check of STATE's open."
  (when-let ((timer (chorus--state-open-timer state)))
    (cancel-timer timer)
    (setf (chorus--state-open-timer state) nil)))

(defun chorus--check-open (state epoch)
  "STATE's open EPOCH has no answer yet: find out whether the daemon lost it.
A buffer whose open got no answer stayed \"opening\" for good, its typing
not shared and nothing said (a trial, after a reconnect and during a stall).
The daemon answers an editor's requests in the order they were sent
\(decision 187), so an answer to session/status sent now, while the open
still has none, means the open's answer was lost: the buffer opens again.
The daemon handled that open (it came before): if it carried the buffer's
text, the daemon merged it, so the new open's `base' is that text, and only
what was typed since is merged (nothing twice).  No answer: the daemon is
busy; checked again later, and after 30 s the person is told."
  (setf (chorus--state-open-timer state) nil)
  (let ((project (chorus--state-project state))
        (stage (chorus--state-sent state))
        (current (lambda () (and (= epoch (chorus--state-epoch state))
                                 (eq (chorus--state-status state) 'opening)
                                 (buffer-live-p (chorus--state-buffer state))))))
    (when (and (funcall current) (chorus--ready-p project))
      (chorus--request
       project (chorus--method session-status) nil
       :success (lambda (_)
                  ;; STAGE: an open carrying the text sent after this question (the answer to
                  ;; the content-less first step came meanwhile) may still be answered.
                  (when (and (funcall current) (eq stage (chorus--state-sent state)))
                    (chorus--debug "the answer to opening %s was lost; opening it again"
                                   (chorus--state-path state))
                    (when-let ((sent (chorus--state-sent state)))
                      (chorus--set-base state sent))
                    (chorus--open state "its open's answer was lost")))
       :error #'ignore)
      (when (and (not (chorus--state-slow state))
                 (> (- (float-time) (or (chorus--state-open-since state) (float-time))) 30))
        (setf (chorus--state-slow state) t)
        (force-mode-line-update t)
        (chorus--message "the daemon for %s has not answered for 30 s while opening %s (it may be busy); what you type in it is not shared yet, and is once it answers (M-x chorus-reconnect asks again)"
                         (chorus--project-root project) (chorus--state-path state)))
      (chorus--watch-open state epoch))))

(defun chorus--keep-copy (buffer text)
  "Keep TEXT, BUFFER's text before it took the session's, in a buffer; say so.
BUFFER was shared again with no text known to be in step with the session
\(see `chorus--detach'), so its own text could not be merged safely: it may
lack others' changes, and taken as the truth it deleted them on every peer
\(a trial: 4 minutes of two people's typing)."
  (let ((copy (generate-new-buffer (format "%s (your text before sharing again)" (buffer-name buffer)))))
    (with-current-buffer copy
      (insert text)
      (set-buffer-modified-p nil))
    (chorus--message "%s may have lacked others' changes, so it now shows the session's text; the text it had is kept in buffer %s (not shared): copy what you need from it"
                     (buffer-name buffer) (buffer-name copy))))

(defun chorus--connection-ready (project)
  "Re-open PROJECT's buffers, with their `base': it is (again) initialized."
  (chorus--forget-sent-cursor)
  (dolist (state (chorus--project-states project))
    (when (memq (chorus--state-status state) '(new offline opening open))
      (chorus--open state))))

(defun chorus--connection-lost (project)
  "PROJECT's connection went away: remember each buffer's last in-step text."
  (dolist (state (chorus--project-states project))
    (when (eq (chorus--state-status state) 'open)
      (chorus--remember-base state))
    (when (memq (chorus--state-status state) '(open opening))
      (setf (chorus--state-status state) 'offline))
    (cl-incf (chorus--state-epoch state))
    (setf (chorus--state-pending state) nil
          (chorus--state-unconfirmed state) nil
          (chorus--state-in-flight state) 0))
  (chorus--clear-project-cursors project)
  (setf (chorus--project-following project) nil))

;;;;; Saving, reverting, killing

(defvar chorus--save-timeout 10
  "Seconds C-x C-s of a shared buffer waits for the daemon's write (buffer/save).
The daemon answers once the file holds the text; a slow disk or a busy
daemon may take a while, but Emacs must not hang on one that never answers.")

(defun chorus--write-contents ()
  "Save a shared buffer by having the daemon write the shared text into its file.
Sends what is queued, waits (briefly) for the daemon to have it, then asks the
daemon to write the file now (buffer/save) and waits for the write, so that
when `save-buffer' returns the file holds the text (an `after-save-hook', a
compile or a test run reads it right away).  Emacs does not write the file
itself: its buffer may lack a peer's change on its way here, and its write
would be taken in as a change that undoes that change (decision 222).

An older daemon without buffer/save, or no answer within
`chorus--save-timeout', leaves the write to the daemon's own write-back, as
before buffer/save: the buffer is saved.  A failed write (the disk refused)
is an error with the daemon's words, and the buffer stays unsaved.  A file
the daemon will not write (not shared: ignored, or view mode) is written by
Emacs.  When the daemon is away, Emacs writes the file as usual, and that
text becomes the `base' that a reconnect merges from."
  (when-let ((state chorus--state))
    (chorus--await-open state)
    (if (not (eq (chorus--state-status state) 'open))
        (progn
          (chorus--set-base state (chorus--model-text state))
          nil)
      (pcase (chorus--write-now state)
        ((and (or 'saved 'unanswered) done)
         (set-buffer-modified-p nil)
         (set-visited-file-modtime 0)
         ;; As Emacs says after writing a file; not when the daemon writes it later.
         (when (eq done 'saved) (message "Wrote %s" buffer-file-name))
         t)
        (`(failed . ,text)
         ;; Unsaved (`chorus--settle' marked it saved when the daemon had the edits), and
         ;; `after-save-hook' does not run: nothing goes on to read a file that lacks the text.
         (set-buffer-modified-p t)
         (error "chorus: %s" (chorus--visible text)))
        (_
         ;; Emacs writes the file.  If the daemon went meanwhile, as for a save while it is away:
         ;; the text written is the `base' that a reconnect merges from.  Connected but not
         ;; answering (stopped, very busy), it is told the text written (decision 271).
         (if (eq (chorus--state-status state) 'open)
             (chorus--declare-write state)
           (chorus--set-base state (chorus--model-text state)))
         nil)))))

(defun chorus--declare-write (state)
  "Tell STATE's daemon that Emacs writes the buffer into its file itself now.
The request (buffer/save with `writes', the SHA-256 of the bytes written) goes
after the buffer's edits, so every change in that text reaches the daemon as an
edit.  A daemon stopped (suspended) or too busy to answer a save found the file
Emacs wrote once it ran again, before the edits waiting for it, and took it in
as an outside edit on top of that same typing: doubled on every member (trial
s60 F7).  Told, it knows that text as this buffer's own.  Bytes as Emacs writes
them: the whole buffer in its file's coding system."
  (let ((bytes (save-restriction
                 (widen)
                 (encode-coding-string (buffer-substring-no-properties (point-min) (point-max))
                                       buffer-file-coding-system t))))
    (chorus--request (chorus--state-project state) (chorus--method buffer-save)
                     (list :path (chorus--state-path state)
                           :writes (secure-hash 'sha256 bytes))
                     :success #'ignore :error #'ignore)))

(defun chorus--await-open (state)
  "Wait (at most `chorus--save-timeout' s) while STATE's open is unanswered.
A save right after visiting a file, as Lisp that makes a note does in one
command (`find-file-noselect', `insert', `save-buffer'), came before the
daemon answered the open.  Emacs then wrote a file the daemon was making from
the buffer's first text at that moment: the two were taken for a file made
twice, and an empty conflict copy was kept beside it in every folder (trial
s56b P1).  Answered, the daemon writes the file.  Emacs's loop keeps running
meanwhile, so the answer is taken in."
  (when (eq (chorus--state-status state) 'opening)
    (with-timeout (chorus--save-timeout nil)
      (while (and (eq (chorus--state-status state) 'opening)
                  (chorus--ready-p (chorus--state-project state)))
        (accept-process-output nil 0.02)))))

(defun chorus--write-now (state)
  "Send STATE's queued edits, wait (briefly) for the daemon to have them, save.
The value is that of `chorus--save-by-daemon', or nil when the edits were not
answered in time or the daemon went meanwhile."
  (chorus--flush state)
  (with-timeout (5 nil)
    (while (and (> (chorus--state-in-flight state) 0)
                (eq (chorus--state-status state) 'open))
      (accept-process-output nil 0.02)))
  (and (eq (chorus--state-status state) 'open)
       (zerop (chorus--state-in-flight state))
       (chorus--save-by-daemon state)))

(defun chorus--unwritten-p ()
  "Non-nil when the shared buffer shows as saved, but its file may lack its text.
With `chorus-manage-modified' a shared buffer shows as unmodified once the
daemon has every edit, a few ms after typing, while the daemon writes the file
only once typing pauses (100 ms).  Its text changed since the file last held
it (`chorus--after-save', or the visit) when its character tick moved."
  (let ((state chorus--state))
    (and state
         (eq (chorus--state-status state) 'open)
         (not (buffer-modified-p))
         (not (eql (chorus--state-written-tick state) (buffer-chars-modified-tick))))))

(defun chorus--save-unmodified (&rest _)
  "Before `basic-save-buffer': mark modified a shared buffer its file may lack.
Emacs skips the save of an unmodified buffer (\"(No changes need to be
saved)\"), so C-x C-s, or a package's `save-buffer', a moment after typing
returned while the file still lacked the typing (`chorus--unwritten-p'; a
trial, 24 of 24).  Marked modified, the buffer saves as it would with
`chorus-manage-modified' off: `before-save-hook' (formatters), the daemon's
write (`chorus--write-contents'), \"Wrote FILE\", and `after-save-hook'
\(compile or test on save reads the new text).  A buffer with nothing new since
its file held it is left to Emacs: \"(No changes need to be saved)\", no hooks.
An advice rather than a remap of `save-buffer', so that Lisp callers get it."
  (with-current-buffer (or (buffer-base-buffer) (current-buffer))
    (when (chorus--unwritten-p)
      (set-buffer-modified-p t))))

(defun chorus--write-unmodified (&rest _)
  "Before `save-some-buffers': the daemon writes shared buffers shown as saved.
Such a buffer is not offered (it is unmodified), but its file may lack the
last typing for 100 ms (`chorus--unwritten-p'), and callers (`compile',
`recompile', magit) read the files next.  The daemon writes them now, without
a question (the buffer shows as saved, and the daemon writes it anyway a moment
later) and without `after-save-hook' (Emacs saves nothing).  A failed write
is told, not an error: the caller goes on, as it would have without this."
  (dolist (buffer (buffer-list))
    (with-current-buffer buffer
      (pcase (and (chorus--unwritten-p) (chorus--write-now chorus--state))
        ((or 'saved 'unanswered)
         (setf (chorus--state-written-tick chorus--state) (buffer-chars-modified-tick)))
        (`(failed . ,text) (chorus--message "%s" text))))))

(advice-add 'basic-save-buffer :before #'chorus--save-unmodified)
(advice-add 'save-some-buffers :before #'chorus--write-unmodified)

(defun chorus--save-by-daemon (state)
  "Ask the daemon to write STATE's file now (buffer/save); wait for its answer.
Emacs's loop keeps running while it waits (at most `chorus--save-timeout'
seconds), so the daemon's messages, edits among them, are handled meanwhile.
The value is `saved' once the file holds the shared text; `unanswered' for
a daemon without buffer/save (older) or no answer in time, which writes the
file on its own once typing pauses; (failed . MESSAGE) when its write failed,
MESSAGE saying what to do; `refused' when the daemon will not write the file
\(not shared, or the connection went), which leaves the write to Emacs."
  (let* ((answer nil) (gave-up nil)
         (deadline (+ (float-time) chorus--save-timeout))
         (path (chorus--state-path state))
         (project (chorus--state-project state)))
    ;; An older daemon said it has no buffer/save: each save would cost a round trip for nothing.
    (if (chorus--project-no-save project)
        (setq answer 'unanswered)
      (chorus--request
       project (chorus--method buffer-save) (list :path path)
       :success (lambda (_) (setq answer 'saved))
       :error
       (lambda (err)
         (setq answer
               (pcase (plist-get err :code)
                 ((pred (eql (chorus--error-code 'method-not-found)))
                  (setf (chorus--project-no-save project) t)
                  'unanswered)
                 ((pred (eql (chorus--error-code 'storage-failed)))
                  (cons 'failed (chorus--error-text err)))
                 (_ (chorus--debug "the daemon did not save %s: %s" path (chorus--error-text err))
                    'refused)))
         ;; A failure answered after the save gave up waiting is still news to the person.
         (when (and gave-up (eq (car-safe answer) 'failed))
           (chorus--message "%s" (cdr answer))))))
    (while (and (not answer) (< (float-time) deadline))
      (accept-process-output nil 0.02))
    (unless answer
      (setq gave-up t)
      (chorus--debug "no answer to buffer/save of %s in %s s; the daemon writes it on its own"
                     path chorus--save-timeout))
    (or answer 'unanswered)))

(defun chorus--after-save ()
  "Forget the file's modification time after a shared file was saved.
The daemon's later writes are then no conflict.  Remember that the file holds
the text (`chorus--unwritten-p')."
  (when-let ((state chorus--state))
    (set-visited-file-modtime 0)
    (setf (chorus--state-written-tick state) (buffer-chars-modified-tick))))

(defun chorus--buffer-locals ()
  "Set up a shared buffer: no lock files, no auto-save files in the project.
The daemon writes the file, so its modification time is never a conflict."
  (setq-local create-lockfiles nil)
  (when buffer-file-name
    (set-visited-file-modtime 0)
    (when (and auto-save-default chorus-auto-save-directory)
      (make-directory chorus-auto-save-directory t)
      (setq buffer-auto-save-file-name
            (expand-file-name
             (concat "#" (replace-regexp-in-string "[/\\:]" "!" buffer-file-name) "#")
             chorus-auto-save-directory)))))

(defun chorus--before-revert ()
  "Remember the text before `revert-buffer' replaces it."
  (when-let ((state chorus--state))
    (setf (chorus--state-reverting state) (chorus--model-text state))))

(defun chorus--after-revert ()
  "After `revert-buffer': send what the file changed as one edit, keep sharing.
Emacs reports a revert's changes in ways that do not always pair up (and
re-initializing the major mode can leave the change hooks inactive), so the
change is computed from the texts before and after, and the hooks are
installed again."
  (when-let ((state chorus--state))
    (let ((before (chorus--state-reverting state)))
      (setf (chorus--state-reverting state) nil
            (chorus--state-before state) nil
            (chorus--state-crlf state) (chorus--crlf-p))
      (chorus--install-hooks)
      (chorus--buffer-locals)
      (when (and before (eq (chorus--state-status state) 'open))
        (when-let ((diff (chorus--diff before (chorus--model-text state))))
          (chorus--queue state (car diff) (cdr diff)))))))

(defvar-local chorus--moved-from nil
  "(OLD-PATH . TEXT): this shared buffer's file name changed from OLD-PATH.
That is a dired rename, `rename-file' or `write-file', made while the daemon
had TEXT of the file.  When the buffer is shared again under its new name and
the daemon told of a rename from OLD-PATH to it, the daemon's document is the
old file's, which has TEXT: that is the open's `base', not the file on disk.
The disk may not have the last typing yet (the daemon writes it after the
rename), and merged from the disk's text that typing was added a second time.")
(put 'chorus--moved-from 'permanent-local t)

(defun chorus--after-set-visited-file-name ()
  "Share the file the buffer now visits (`write-file', dired's rename).
Only if it is in a project.  The old file stays as the daemon has it (or
moves, for a rename).  The new one is shared once Emacs has written it and the
daemon has taken it in from the folder: opening it while the daemon is still
taking it in would look like two peers creating one file at once."
  (when (and chorus--state (not chorus--renaming))
    (let ((state chorus--state))
      (when (eq (chorus--state-status state) 'open)
        ;; Everything typed goes out to the old path first (`chorus--detach' flushes it): the
        ;; daemon's document of that file has this text from here on.
        (chorus--flush state)
        (setq chorus--moved-from
              (cons (chorus--state-path state) (chorus--model-text state)))))
    (chorus--detach)
    (setq chorus-mode nil)
    (run-at-time 0 nil #'chorus--share-when-taken-in (current-buffer) 15)))

(defun chorus--share-when-taken-in (buffer tries)
  "Turn on `chorus-mode' in BUFFER once its daemon lists the file.
Asks `workspace/files' up to TRIES more times, 0.2 s apart, then turns it on
anyway."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (when-let ((root (and buffer-file-name (not chorus-mode)
                            (chorus--find-root buffer-file-name))))
        (let ((project (chorus--project root))
              (path (file-relative-name (file-truename buffer-file-name) root))
              (turn-on (lambda (&rest _)
                         (when (buffer-live-p buffer)
                           (with-current-buffer buffer (chorus--turn-on))))))
          (if (or (<= tries 0) (not (chorus--ready-p project)))
              (funcall turn-on)
            (chorus--request
             project (chorus--method workspace-files) nil
             :success (lambda (result)
                        (if (seq-find (lambda (f) (equal (plist-get f :path) path))
                                      (plist-get result :files))
                            (funcall turn-on)
                          (run-at-time 0.2 nil #'chorus--share-when-taken-in
                                       buffer (1- tries))))
             :error turn-on)))))))

(defun chorus--kill-buffer ()
  "A shared buffer is being killed: stop sharing it."
  (when chorus--state (chorus--detach)))

(defconst chorus--buffer-hooks
  '((before-change-functions . chorus--before-change)
    (after-change-functions . chorus--after-change)
    (write-contents-functions . chorus--write-contents)
    (after-save-hook . chorus--after-save)
    (before-revert-hook . chorus--before-revert)
    (after-revert-hook . chorus--after-revert)
    (after-set-visited-file-name-hook . chorus--after-set-visited-file-name)
    (kill-buffer-hook . chorus--kill-buffer))
  "The buffer-local hooks of a shared buffer.")

(defun chorus--install-hooks ()
  "Install the buffer-local hooks of a shared buffer (again)."
  (pcase-dolist (`(,hook . ,fn) chorus--buffer-hooks)
    (remove-hook hook fn t)
    (add-hook hook fn nil t)))

(defun chorus--remove-hooks ()
  "Remove the buffer-local hooks of a shared buffer."
  (pcase-dolist (`(,hook . ,fn) chorus--buffer-hooks)
    (remove-hook hook fn t)))

(dolist (fn '(chorus--before-change chorus--after-change chorus--write-contents
              chorus--after-save chorus--before-revert chorus--after-revert
              chorus--after-set-visited-file-name chorus--kill-buffer))
  (put fn 'permanent-local-hook t))

;;;;; Attaching and detaching

(defvar-local chorus--reshare nil
  "(PATH TRUSTED . BASE): this buffer of PATH was shared, then `chorus-mode' went off.
BASE is the text last in step with the daemon, for the open when it is shared
again; TRUSTED nil means none is known (see `chorus--detach').")
(put 'chorus--reshare 'permanent-local t)

(defun chorus--attach ()
  "Share the current buffer through its project's daemon.
Returns nil when it cannot be shared."
  (let* ((file buffer-file-name)
         (root (and file (chorus--find-root file))))
    (cond
     (chorus--state t)
     ((not root) nil)
     ((eq (coding-system-eol-type buffer-file-coding-system) 2)
      (chorus--message "files with old Mac line ends (CR) are not shared") nil)
     (t
      (let* ((project (chorus--project root))
             (state (chorus--state-make :buffer (current-buffer) :project project
                                        :path (file-relative-name (file-truename file) root)
                                        :crlf (chorus--crlf-p)
                                        :written-tick (and (not (buffer-modified-p))
                                                           (buffer-chars-modified-tick)))))
        ;; A buffer just read from its file holds nothing of this person's yet: the daemon's
        ;; text wins wherever it differs (it may be newer than the file, or the file may be
        ;; missing here: view mode, a file a peer just made).  A buffer changed before it was
        ;; shared sends its changes since the file as its own.
        (setf (chorus--state-base state)
              (let ((moved chorus--moved-from)
                    (reshare (and (equal (car chorus--reshare) (chorus--state-path state))
                                  (cdr chorus--reshare))))
                (setq chorus--moved-from nil
                      chorus--reshare nil)
                (cond
                 ;; The daemon took this Emacs's rename of the file as a rename: its document
                 ;; is the old file's (see `chorus--moved-from').
                 ((and moved (member (cons (car moved) (chorus--state-path state))
                                     (chorus--project-renames project)))
                  (cdr moved))
                 ;; Shared before and changed since (`chorus-mode' off and on): its text may
                 ;; lack others' changes it never received, and the file is the session's,
                 ;; newer.  Merged from the file (below), that difference deleted their typing
                 ;; on every peer (a trial).  Only what changed since the text last in step
                 ;; is merged; with none known, the session's text is taken and this text kept.
                 ((and reshare (buffer-modified-p))
                  (if (car reshare) (cdr reshare)
                    (setf (chorus--state-keep-copy state) (chorus--model-text state))))
                 ((not (buffer-modified-p))
                  (chorus--model-text state))
                 ((file-readable-p file)
                  (with-temp-buffer
                    (let ((coding-system-for-read 'utf-8-unix))
                      (insert-file-contents file))
                    (buffer-string))))))
        (setq chorus--state state)
        (chorus--install-hooks)
        (chorus--buffer-locals)
        (if (chorus--ready-p project) (chorus--open state)
          (setf (chorus--state-status state) 'offline))
        t)))))

(defun chorus--reshare-base (state)
  "What a later re-share of STATE's buffer may take as in step: (TRUSTED . TEXT).
Open: its text (typing is flushed first: the daemon gets all of it).  An open
that carried the buffer's text and has no answer: none (the daemon may or may
not have merged that text).  Otherwise the `base' the next open would carry."
  (pcase (chorus--state-status state)
    ('open (cons t (chorus--model-text state)))
    ('opening (if (chorus--state-sent state) (cons nil nil)
                (cons (and (chorus--state-base state) t) (chorus--state-base state))))
    (_ (cons (and (chorus--state-base state) t) (chorus--state-base state)))))

(defun chorus--detach ()
  "Stop sharing the current buffer.
A buffer still opening is closed too: the daemon takes the close after the
open, so it does not keep the buffer open for this editor."
  (when-let ((state chorus--state))
    (let ((project (chorus--state-project state)))
      (when (eq (chorus--state-status state) 'open)
        (chorus--flush state))
      ;; Shared before: turned on again, it must not take its text for the session's.
      (when (or (chorus--state-opened state) (memq (chorus--state-status state) '(open opening)))
        (setq chorus--reshare (cons (chorus--state-path state) (chorus--reshare-base state))))
      (when (memq (chorus--state-status state) '(open opening))
        (chorus--notify project (chorus--method cursor-set)
                        (list :path (chorus--state-path state) :selections []))
        (chorus--request project (chorus--method buffer-close)
                         (list :path (if (eq (chorus--state-status state) 'open)
                                         (chorus--state-path state)
                                       ;; As the open named it (the daemon's name is not known yet).
                                       (or (buffer-file-name) (chorus--state-path state))))
                         :error #'ignore))
      (chorus--cancel-open-watch state)
      (when-let ((timer (chorus--state-flush-timer state))) (cancel-timer timer))
      (setf (chorus--state-status state) 'closed)
      (chorus--clear-buffer-cursors (current-buffer))
      (setq chorus--state nil)
      (chorus--remove-hooks)
      (kill-local-variable 'create-lockfiles)
      (when buffer-file-name (ignore-errors (set-visited-file-modtime))))))

;;;; Presence: remote cursors

(defvar chorus--peers (make-hash-table :test #'equal)
  "Remote cursors: (ROOT PEER-ID EDITOR) -> plist.
The plist has :peer :path :selections :project :overlays.")

(defun chorus--faces (color)
  "The faces (SELECTION . LABEL) for COLOR \"#rrggbb\", defined on first use."
  (let* ((hex (if (and (stringp color) (string-match "\\`#\\([[:xdigit:]]\\{6\\}\\)\\'" color))
                  (downcase (match-string 1 color))
                "888888"))
         (face (intern (concat "chorus-peer-" hex)))
         (label (intern (concat "chorus-peer-" hex "-label"))))
    (unless (facep face)
      (let* ((r (string-to-number (substring hex 0 2) 16))
             (g (string-to-number (substring hex 2 4) 16))
             (b (string-to-number (substring hex 4 6) 16))
             (fg (if (> (+ (* 0.299 r) (* 0.587 g) (* 0.114 b)) 150) "#000000" "#ffffff")))
        (custom-declare-face face `((t :background ,(concat "#" hex) :foreground ,fg))
                             (format "A Chorus peer's cursor and selection, colour #%s." hex)
                             :group 'chorus)
        (custom-declare-face label `((t :inherit (chorus-peer-label ,face)))
                             (format "A Chorus peer's name label, colour #%s." hex)
                             :group 'chorus)))
    (cons face label)))

(defun chorus--delete-overlays (entry)
  "Delete ENTRY's overlays."
  (mapc #'delete-overlay (plist-get entry :overlays)))

(defun chorus--draw (entry state)
  "Draw ENTRY's selections in STATE's buffer; returns ENTRY with its overlays."
  (let* ((faces (chorus--faces (plist-get (plist-get entry :peer) :color)))
         (name (chorus--visible (plist-get (plist-get entry :peer) :name)))
         (overlays nil) (first t))
    (with-current-buffer (chorus--state-buffer state)
      (save-restriction
        (widen)
        (seq-doseq (sel (plist-get entry :selections))
          (let* ((a (chorus--point-of (plist-get sel :anchor) t))
                 (h (chorus--point-of (plist-get sel :head) t))
                 (caret-end (save-excursion (goto-char h) (if (eolp) h (1+ h)))))
            (unless (= a h)
              ;; Text typed at either end is not part of their selection.
              (let ((ov (make-overlay (min a h) (max a h) nil t nil)))
                (overlay-put ov 'face (car faces))
                (overlay-put ov 'priority 150)
                (push ov overlays)))
            (let ((ov (make-overlay h caret-end nil t nil)))
              (if (= h caret-end)
                  (overlay-put ov 'after-string (propertize " " 'face (car faces)))
                (overlay-put ov 'face (car faces)))
              (overlay-put ov 'priority 160)
              (push ov overlays))
            (when first
              (setq first nil)
              (let* ((eol (save-excursion (goto-char h) (line-end-position)))
                     (ov (make-overlay eol eol nil t nil)))
                (overlay-put ov 'after-string (propertize (concat " " name " ") 'face (cdr faces)))
                (overlay-put ov 'chorus-label name)
                (overlay-put ov 'priority 160)
                (push ov overlays)))))
        (dolist (ov overlays)
          (overlay-put ov 'chorus-peer (plist-get (plist-get entry :peer) :id))
          (overlay-put ov 'evaporate nil))))
    (plist-put entry :overlays overlays)))

(chorus--defnotification cursor-did-change (peer path selections editor)
  "Show PEER's SELECTIONS in PATH (none: they left it)."
  (let* ((project (chorus--connection-project conn))
         (key (list (chorus--project-root project) (plist-get peer :id) editor))
         (entry (gethash key chorus--peers)))
    (when entry (chorus--delete-overlays entry))
    (setq entry (list :peer peer :path path :selections selections :project project))
    (puthash key entry chorus--peers)
    (let ((state (chorus--find-state project path)))
      (when (and state (eq (chorus--state-status state) 'open) (> (length selections) 0))
        (puthash key (chorus--draw entry state) chorus--peers)))))

(defun chorus--hide-cursors (state)
"Delete the overlays of the remote cursors drawn in STATE's buffer.
They stay known, and `chorus--redraw-cursors' draws them when it follows again."
  (maphash (lambda (_key entry)
             (when (and (eq (plist-get entry :project) (chorus--state-project state))
                        (equal (plist-get entry :path) (chorus--state-path state)))
               (chorus--delete-overlays entry)
               (plist-put entry :overlays nil)))
           chorus--peers))

(defun chorus--redraw-cursors (state)
  "Draw the remote cursors already known for STATE's (re-opened) buffer."
  (maphash (lambda (key entry)
             (when (and (eq (plist-get entry :project) (chorus--state-project state))
                        (equal (plist-get entry :path) (chorus--state-path state))
                        (> (length (plist-get entry :selections)) 0))
               (chorus--delete-overlays entry)
               (puthash key (chorus--draw entry state) chorus--peers)))
           chorus--peers))

(defun chorus--forget-peers-if (pred)
  "Forget every remote cursor entry for which PRED is non-nil.
Their overlays are deleted."
  (let (gone)
    (maphash (lambda (key entry)
               (when (funcall pred entry)
                 (chorus--delete-overlays entry)
                 (push key gone)))
             chorus--peers)
    (dolist (key gone) (remhash key chorus--peers))))

(defun chorus--clear-project-cursors (project)
  "Remove every remote cursor of PROJECT."
  (chorus--forget-peers-if (lambda (e) (eq (plist-get e :project) project))))

(defun chorus--clear-buffer-cursors (buffer)
  "Remove the remote cursors drawn in BUFFER (kept for a later re-open)."
  (maphash (lambda (_ entry)
             (dolist (ov (plist-get entry :overlays))
               (when (eq (overlay-buffer ov) buffer) (delete-overlay ov))))
           chorus--peers))

(chorus--defnotification peer-did-join (peer reason)
  "Say that PEER joined.
REASON \"back\": say instead that they are connected again (a member
back after an outage, or after this daemon restarted)."
  (chorus--message "%s %s" (plist-get peer :name)
                   (alist-get (if (equal reason "back") 'peer-back 'peer-joined)
                              chorus-protocol-session-words)))

(chorus--defnotification peer-did-leave (peer reason)
  "Clear PEER's cursors and say that they left.
REASON \"unreachable\": say instead that they are out of reach."
  (let ((project (chorus--connection-project conn)))
    (chorus--forget-peers-if (lambda (e) (and (eq (plist-get e :project) project)
                                              (equal (plist-get (plist-get e :peer) :id)
                                                     (plist-get peer :id)))))
    (chorus--message "%s %s" (plist-get peer :name)
                     (alist-get (if (equal reason "unreachable") 'peer-unreachable 'peer-left)
                                chorus-protocol-session-words))))

(chorus--defnotification session-progress (phase files filesTotal)
  "Report the progress of a first sync: PHASE, FILES of FILESTOTAL.
Before the session's list of files has arrived there is nothing to
count, so a syncing phase with no total says so (in the words of
protocol/src/session-words.ts)."
  (if (and (equal phase "syncing") (eql filesTotal 0))
      (chorus--message "%s…" (alist-get 'syncing-file-list chorus-protocol-session-words))
    (chorus--message "%s: %s/%s files" phase files filesTotal)))

(chorus--defnotification session-notice (type message path kept)
  "Show MESSAGE, something the daemon did to the person's files, at TYPE.
TYPE is \"error\", \"warning\" or \"info\" (as LSP's window/showMessage):
a warning or an error is a `display-warning' (it stays in *Warnings*),
anything else a message.  When the daemon KEPT a copy of the person's own
version of PATH, a buffer of PATH that is not following the session takes
the session's text again (`chorus--take-session-text')."
  (let ((text (format "chorus: %s" (chorus--visible (format "%s" message)))))
    (pcase type
      ("error" (display-warning 'chorus text :error))
      ("warning" (display-warning 'chorus text :warning))
      (_ (message "%s" text))))
  (when (and (stringp path) (stringp kept))
    (chorus--take-session-text (chorus--connection-project conn) path)))

(defun chorus--take-session-text (project path)
  "Make PROJECT's buffer of PATH, if it is not following, take the session's text.
The daemon kept the person's own version of PATH aside (in .chorus/kept) and
the session's is in the folder: a buffer whose open was refused (a read-only
member's own file) re-opens with its text as `base', so the daemon merges
nothing of it and the buffer takes the session's text as one change (undo
brings the person's text back).  A buffer that follows gets that text by
buffer/didChange already."
  (let ((file (file-truename (expand-file-name path (chorus--project-root project)))))
    (dolist (buffer (buffer-list))
      (let ((state (buffer-local-value 'chorus--state buffer)))
        (when (and state (eq (chorus--state-project state) project)
                   (not (memq (chorus--state-status state) '(open opening closed)))
                   (buffer-file-name buffer)
                   (equal (file-truename (buffer-file-name buffer)) file))
          (chorus--set-base state (chorus--model-text state))
          ;; A refused open left it `failed', which `chorus--open' never re-opens.
          (setf (chorus--state-status state) 'offline)
          (chorus--open state "the daemon kept this buffer's own text aside"))))))

;;;;; Our own cursor

(defvar chorus--sent-cursor nil "The last cursor/set sent, to send only changes.")
(defvar chorus--sent-viewport nil "The last viewport/set sent.")
(defvar chorus--cursor-timer nil "Pending throttled cursor send.")
(defvar chorus--cursor-last-time 0 "When the cursor was last sent (float seconds).")

(defun chorus--forget-sent-cursor ()
  "The daemon knows nothing of our cursor (a new connection)."
  (setq chorus--sent-cursor nil chorus--sent-viewport nil))

(defun chorus--selections ()
  "The current buffer's selection as a protocol vector."
  (let ((head (chorus--pos-of (point))))
    (vector (list :anchor (if (region-active-p) (chorus--pos-of (mark)) head) :head head))))

(defun chorus--send-cursor-now ()
  "Send the selected window's cursor and viewport if they moved.
Only for a shared buffer."
  (let ((buffer (window-buffer (selected-window))))
    (with-current-buffer buffer
      (when-let ((state chorus--state))
        (when (eq (chorus--state-status state) 'open)
          (chorus--flush state) ; the positions refer to our latest text
          (save-restriction
            (widen)
            (let* ((project (chorus--state-project state))
                   (sels (chorus--selections))
                   (key (list project (chorus--state-path state) sels)))
              (setq chorus--cursor-last-time (float-time))
              (unless (equal key chorus--sent-cursor)
                (setq chorus--sent-cursor key chorus--sent-viewport nil)
                (chorus--notify project (chorus--method cursor-set)
                                (list :path (chorus--state-path state) :selections sels)))
              (let* ((win (selected-window))
                     (top (chorus--pos-of (window-start win)))
                     (bottom (chorus--pos-of (or (ignore-errors (window-end win t)) (point-max))))
                     (vkey (list project (chorus--state-path state) top bottom)))
                (unless (equal vkey chorus--sent-viewport)
                  (setq chorus--sent-viewport vkey)
                  (chorus--notify project (chorus--method viewport-set)
                                  (list :path (chorus--state-path state)
                                        :range (chorus--range top bottom))))))))))))

(defun chorus--post-command ()
  "After each command: send our cursor, at most once per `chorus-cursor-delay'."
  (when (buffer-local-value 'chorus--state (window-buffer (selected-window)))
    (let ((wait (- (+ chorus--cursor-last-time chorus-cursor-delay) (float-time))))
      (cond ((<= wait 0) (chorus--send-cursor-now))
            ((not chorus--cursor-timer)
             (setq chorus--cursor-timer
                   (run-at-time wait nil (lambda ()
                                           (setq chorus--cursor-timer nil)
                                           (chorus--send-cursor-now)))))))))

;;;; Follow

(chorus--defnotification follow-reveal (peer path range)
  "The followed PEER moved: show PATH at RANGE in the selected window."
  (let* ((project (chorus--connection-project conn))
         (key (list path range)))
    (unless (equal key (chorus--project-last-reveal project))
      (setf (chorus--project-last-reveal project) key)
      (let ((file (expand-file-name path (chorus--project-root project))))
        (condition-case err
            (progn
              (unless (equal (buffer-file-name (window-buffer (selected-window))) file)
                (let ((buffer (find-file-noselect file)))
                  (set-window-buffer (selected-window) buffer)
                  (set-buffer buffer)))
              (with-current-buffer (window-buffer (selected-window))
                (let* ((win (selected-window))
                       (s (chorus--point-of (plist-get range :start) t))
                       (e (chorus--point-of (plist-get range :end) t)))
                  (if (= s e)
                      (progn (goto-char s) (set-window-point win s))
                    ;; A span is what their window shows: it becomes the top of ours; our
                    ;; point moves only when it would be outside.
                    (unless (<= s (window-point win) e)
                      (goto-char s) (set-window-point win s))
                    (set-window-start win (save-excursion (goto-char s) (line-beginning-position)))))))
          (error (chorus--message "cannot follow %s into %s: %s"
                                  (plist-get peer :name) path (error-message-string err))))))))

(chorus--defnotification follow-did-stop (reason)
  "Following ended, for REASON."
  (let* ((project (chorus--connection-project conn))
         (who (or (plist-get (chorus--project-following project) :name) "them")))
    (setf (chorus--project-following project) nil
          (chorus--project-last-reveal project) nil)
    (chorus--message "stopped following %s (%s)" who
                     (pcase reason
                       ("typed" "you typed") ("requested" "you asked")
                       ("peerLeft" (format "%s left" who)) (_ reason)))))

;;;; Commands

(defun chorus--current-project ()
  "The project of the current buffer, else of `default-directory'."
  (if chorus--state (chorus--state-project chorus--state)
    (chorus--project (or (and buffer-file-name (chorus--find-root buffer-file-name))
                         (chorus--find-root default-directory)
                         (file-name-as-directory (file-truename default-directory))))))

(defun chorus--when-ready (project fn)
  "Call FN once PROJECT is connected (waiting up to 10 s), else say it is not."
  (with-timeout (10 nil)
    (while (memq (chorus--project-state project) '(connecting idle))
      (accept-process-output nil 0.05)))
  (cond ((chorus--ready-p project) (funcall fn))
        ((eq (chorus--project-state project) 'stopped)
         (chorus--message "the daemon for %s was stopped with `chorus stop'; M-x chorus-reconnect starts it again"
                          (chorus--project-root project)))
        (t (chorus--message "not connected to the daemon for %s" (chorus--project-root project)))))

(defun chorus--call (method params on-result)
  "Send METHOD with PARAMS on the current project's connection.
ON-RESULT is called with the answer."
  (let ((project (chorus--current-project)))
    (chorus--when-ready project
                        (lambda () (chorus--request project method params :success on-result)))))

(defun chorus--with-host (params)
  "PARAMS with `chorus-host' as :host when set."
  (if chorus-host (append params (list :host chorus-host)) params))

;;;###autoload
(defun chorus-share (&optional read-only)
  "Share the current project; the join code is shown and put on the kill ring.
With a prefix argument READ-ONLY, guests can read but not edit."
  (interactive "P")
  (chorus--call (chorus--method session-share)
                (chorus--with-host (and read-only (list :readOnly t)))
                (lambda (result)
                  (kill-new (plist-get result :code))
                  (chorus--message "sharing (%s); join code (copied): %s"
                                   (if (eq (plist-get result :readOnly) t) "guests can read, not edit" "guests can edit")
                                   (plist-get result :code)))))

;;;###autoload
(defun chorus-join (code)
  "Join a shared session with its join CODE.
The session is joined into the current project or folder.  A folder that is
not a project yet is joined through `chorus join', which checks CODE before
anything starts and leaves nothing behind when the join fails."
  (interactive "sChorus join code: ")
  (when (string-empty-p (string-trim code)) (user-error "Chorus: give a join code"))
  (let ((folder (file-name-as-directory (file-truename default-directory))))
    ;; As `chorus--current-project' picks the project; none: the join makes the folder one.
    (if (not (or chorus--state
                 (and buffer-file-name (chorus--find-root buffer-file-name))
                 (chorus--find-root default-directory)
                 (gethash folder chorus--projects)))
        (chorus--join-with-cli (string-trim code) folder)
      (chorus--call (chorus--method session-join)
                    (chorus--with-host (list :code (string-trim code)))
                    (lambda (result) (chorus--message "%s" (chorus--joined-text result)))))))

(defun chorus--joined-text (result)
  "The message for RESULT, the answer to a join."
  (let ((waiting (or (plist-get result :waiting) 0))
        (notices (append (plist-get result :notices) nil)))
    (format "joined: %s files, %s bytes%s%s"
            (plist-get result :files) (plist-get result :bytes)
            (if (> waiting 0)
                (format "; %d not written yet: no connected peer has their content (each appears when one that has it connects)" waiting)
              "")
            (mapconcat (lambda (n) (concat "\n" n)) notices ""))))

(defun chorus--join-with-cli (code root)
  "Join the session of CODE into ROOT, a folder that is not a Chorus project yet.
Runs `chorus join - ROOT --json' asynchronously, CODE on its standard input
\(on its command line, any local user could read the session's secret with
`ps' while the join runs): the command line checks the code before anything
starts, and a join that fails leaves no `.chorus/' folder or daemon behind
\(starting `chorus connect' first would leave both).  Then the buffers
visiting files in ROOT are shared."
  (let ((program (chorus--program)))
    (if (not program)
        (chorus--message "cannot find `%s' on `exec-path'; install Chorus or set `chorus-program'"
                         chorus-program)
      (let* ((out (generate-new-buffer " *chorus join*"))
             (err (generate-new-buffer " *chorus join stderr*"))
             (default-directory root)
             ;; A pipe of our own for stderr: the sentinel waits for all of it to be read.
             (err-proc (make-pipe-process :name "chorus join stderr" :buffer err
                                          :coding 'utf-8-unix :noquery t :sentinel #'ignore)))
        (chorus--message "joining into %s…" root)
        (let ((proc (make-process
                     :name "chorus join"
                     :buffer out
                     :command (append (list program) chorus-program-args
                                      (list "join" "-" (directory-file-name root) "--json")
                                      (and chorus-host (list "--host" chorus-host)))
                     :connection-type 'pipe
                     :coding 'utf-8-unix
                     :noquery t
                     :stderr err-proc
                     :sentinel
                     (lambda (proc _change)
                       (unless (process-live-p proc)
                         (let ((tries 40))
                           (while (and (process-live-p err-proc) (> tries 0))
                             (accept-process-output err-proc 0.05)
                             (setq tries (1- tries))))
                         (unwind-protect
                             (chorus--joined-with-cli proc root
                                                      (with-current-buffer out (buffer-string))
                                                      (with-current-buffer err (buffer-string)))
                           (delete-process err-proc)
                           (kill-buffer out)
                           (kill-buffer err)))))))
          ;; A process that is gone already has failed; its sentinel says why.
          (when (process-live-p proc)
            (process-send-string proc (concat code "\n"))
            (process-send-eof proc)))))))

(defun chorus--joined-with-cli (proc root stdout stderr)
  "Report how PROC, a `chorus join' into ROOT, ended, given its STDOUT and STDERR.
On success, share the buffers visiting files in ROOT, as `global-chorus-mode'
does for a project's files."
  (if (not (and (eq (process-status proc) 'exit) (eql (process-exit-status proc) 0)))
      ;; Every line: the reason comes first, then what the failed join undid.
      (chorus--message "%s" (let ((lines (mapcar (lambda (line) (string-remove-prefix "chorus: " line))
                                                 (split-string stderr "\n" t "[ \t\r]+"))))
                              (if lines (string-join lines "\n")
                                (format "chorus join failed (exit code %d)" (process-exit-status proc)))))
    (chorus--message "%s" (chorus--joined-text
                           (condition-case nil
                               (json-parse-string stdout :object-type 'plist)
                             (error nil))))
    (when global-chorus-mode
      (dolist (buffer (buffer-list))
        (with-current-buffer buffer
          (when (and buffer-file-name (file-in-directory-p (file-truename buffer-file-name) root))
            (chorus--turn-on)))))))

(defun chorus--session-text (session)
  "SESSION, the `session' of a session/status result, in words.
As `chorus status' says it: what the session is doing (reconnecting
while a daemon that has just started rejoins it, never \"not shared\"),
then read-only and view mode.  The words are those of
`chorus-protocol-session-words', generated from
protocol/src/session-words.ts, picked by the rule of its `sessionClauses'."
  (let* ((starting (plist-get session :starting))
         (word (lambda (key) (alist-get key chorus-protocol-session-words)))
         (clauses (list (cond ((equal starting "joining") (funcall word 'joining))
                              ((equal starting "rejoining") (funcall word 'rejoining))
                              ((equal (plist-get session :role) "host") (funcall word 'sharing))
                              (t (funcall word 'joined))))))
    (when (eq (plist-get session :readOnly) t)
      (setq clauses (append clauses (list (funcall word 'read-only)))))
    (when (eq (plist-get session :disk) :json-false)
      (setq clauses (append clauses (list (funcall word 'view-mode)))))
    (mapconcat #'identity clauses "; ")))

(defun chorus--describe-status (st project)
  "A text describing ST, a session/status result, and PROJECT's shared buffers."
  (let ((peer (plist-get st :peer)) (session (plist-get st :session)))
    (chorus--visible
     (concat
     (format "project  %s\n" (plist-get st :root))
     (format "daemon   chorus %s, pid %s\n" (plist-get st :version) (plist-get st :pid))
     (format "you      %s (%s)\n" (plist-get peer :name) (plist-get peer :color))
     (format "session  %s\n" (if session
                                 (chorus--session-text session)
                               "not shared (M-x chorus-share)"))
     ;; Only while a join or a peer's change is still filling the folder (absent from an older daemon).
     (let ((n (plist-get st :writing)))
       (if (and (integerp n) (> n 0)) (format "writing  %d file%s to disk\n" n (if (= n 1) "" "s")) ""))
     (format "buffers  %s\n"
             (or (mapconcat (lambda (s) (format "%s [%s, rev %d/%d]" (chorus--state-path s)
                                                (chorus--state-status s) (chorus--state-editor-rev s)
                                                (chorus--state-daemon-rev s)))
                            (chorus--project-states project) ", ")
                 "none"))
     (format "peers    %s\n" (if (> (length (plist-get st :peers)) 0) "" "none"))
     (mapconcat (lambda (p) (format "  %s (%s) %s\n" (plist-get p :name) (plist-get p :color)
                                    (or (plist-get p :path) "")))
                (plist-get st :peers) "")))))

(defun chorus-status ()
  "Show what the daemon of the current project is doing.
The report goes to the buffer `*chorus-status*'."
  (interactive)
  (let ((project (chorus--current-project)))
    (chorus--call (chorus--method session-status) nil
                  (lambda (st)
                    (with-current-buffer (get-buffer-create "*chorus-status*")
                      (let ((inhibit-read-only t))
                        (erase-buffer)
                        (insert (chorus--describe-status st project)))
                      (special-mode)
                      (display-buffer (current-buffer)))))))

(defun chorus-peers ()
  "Say who else is in the current project's session."
  (interactive)
  (chorus--call (chorus--method session-status) nil
                (lambda (st)
                  (let ((peers (append (plist-get st :peers) nil)))
                    (if (null peers) (chorus--message "nobody else is here")
                      (chorus--message "peers: %s"
                                       (mapconcat (lambda (p) (format "%s (%s)" (plist-get p :name)
                                                                      (plist-get p :color)))
                                                  peers ", ")))))))

(defun chorus--peer-names (project)
  "The names of PROJECT's peers, asked synchronously (for completion)."
  (ignore-errors
    (mapcar (lambda (p) (plist-get p :name))
            (plist-get (jsonrpc-request (chorus--project-conn project)
                                        (chorus--method session-status) nil :timeout 5)
                       :peers))))

(defun chorus-follow (name)
  "Follow the person called NAME (or with that id).
Your window goes where they go, across files, until you type or
`chorus-unfollow'."
  (interactive
   (list (completing-read "Follow: " (chorus--peer-names (chorus--current-project)))))
  (let ((project (chorus--current-project)))
    (chorus--call (chorus--method follow-start) (list :peer name)
                  (lambda (result)
                    (setf (chorus--project-following project) (plist-get result :peer)
                          (chorus--project-last-reveal project) nil)
                    (chorus--message "following %s (M-x chorus-unfollow or type to stop)"
                                     (plist-get (plist-get result :peer) :name))))))

(defun chorus-unfollow ()
  "Stop following."
  (interactive)
  (let ((project (chorus--current-project)))
    (chorus--call (chorus--method follow-stop) nil
                  (lambda (_)
                    (setf (chorus--project-following project) nil
                          (chorus--project-last-reveal project) nil)
                    (chorus--message "stopped following")))))

(defun chorus--undo-redo (method word)
  "Send METHOD (own-edit undo or redo) for the current buffer; WORD names it."
  (let ((state chorus--state))
    (if (not (and state (eq (chorus--state-status state) 'open)))
        (chorus--message "this buffer is not shared")
      (chorus--flush state)
      (chorus--request (chorus--state-project state) method
                       (list :path (chorus--state-path state))
                       :success (lambda (result)
                                  (unless (eq (plist-get result :applied) t)
                                    (chorus--message "nothing of yours to %s" word)))))))

(defun chorus-undo ()
  "Undo your own last change in this shared buffer, never anyone else's.
Text others typed inside it stays.  To use it for \\[undo] in shared buffers:
  (define-key chorus-mode-map [remap undo] #\\='chorus-undo)"
  (interactive)
  (chorus--undo-redo (chorus--method buffer-undo) "undo"))

(defun chorus-redo ()
  "Redo the change the last `chorus-undo' undid.
To use it for `undo-redo' in shared buffers:
  (define-key chorus-mode-map [remap undo-redo] #\\='chorus-redo)"
  (interactive)
  (chorus--undo-redo (chorus--method buffer-redo) "redo"))

(defun chorus-reconnect ()
  "Reconnect to the current project's daemon now instead of at the next retry.
A daemon stopped with `chorus stop' is started again.  Outside a project (no
`.chorus/' folder above the buffer's file or `default-directory', and no
shared buffer here) nothing is started: reconnecting there made the folder,
even the home folder, a new project that read in every file (a trial)."
  (interactive)
  (if (not (or chorus--state
               (and buffer-file-name (chorus--find-root buffer-file-name))
               (chorus--find-root default-directory)))
      (chorus--message "%s is in no Chorus project (no .chorus/ folder above it), so there is nothing to reconnect to: M-x chorus-share shares a folder, `chorus join <code> <folder>' joins a session"
                       (abbreviate-file-name default-directory))
    (let ((project (chorus--current-project)))
      (chorus--follow-again project)
      (chorus--check-opening project)
      (unless (memq (chorus--project-state project) '(ready connecting))
        (chorus--cancel-retry project)
        (setf (chorus--project-attempts project) 0
              (chorus--project-state project) 'lost)
        (chorus--connect project)))))

(defun chorus--check-opening (project)
  "Check now on PROJECT's buffers whose open has no answer (`chorus--check-open').
`chorus-reconnect' did nothing to them while connected (a trial)."
  (when (chorus--ready-p project)
    (let ((opening (cl-remove-if-not (lambda (s) (eq (chorus--state-status s) 'opening))
                                     (chorus--project-states project))))
      (when opening
        (chorus--message "asking the daemon about %s, still opening; each opens again if its answer was lost"
                         (mapconcat #'chorus--state-path opening ", "))
        (dolist (state opening)
          (chorus--check-open state (chorus--state-epoch state)))))))

(defun chorus--follow-again (project)
  "Have PROJECT's buffers the daemon refused to share follow the session again.
Each opens again with its text as `base', so the daemon merges nothing of it
and the buffer takes the session's text as one change (undo brings the
person's text back).  A read-only member's refused typing left its buffer so
(a trial: it showed nothing of the others' changes for 20 minutes).  Now if
connected; else once the connection is ready (`chorus--connection-ready')."
  (dolist (state (chorus--project-states project))
    (when (eq (chorus--state-status state) 'failed)
      (chorus--set-base state (chorus--model-text state))
      (setf (chorus--state-status state) 'offline)
      (when (chorus--ready-p project)
        (chorus--open state "M-x chorus-reconnect")))))

;;;; Modes

(defvar chorus-mode-map (make-sparse-keymap)
  "Keymap of `chorus-mode', active in shared buffers.
Bind `chorus-undo' over `undo' here:
  (define-key chorus-mode-map [remap undo] #\='chorus-undo)")

;;;###autoload
(define-minor-mode chorus-mode
  "Share this buffer's file through its project's Chorus daemon.
Your edits reach everyone; others' edits and cursors appear here.  The file
must be inside a folder with `.chorus/' above it (made by `chorus share',
`chorus join' or `chorus daemon')."
  :lighter (:eval (chorus--lighter))
  :keymap chorus-mode-map
  (if chorus-mode
      (cond (chorus--state (chorus--buffer-locals))
            ((not (chorus--attach))
             (setq chorus-mode nil)
             (when (called-interactively-p 'any)
               (user-error "Chorus: %s is not inside a shared project (no .chorus/ above it)"
                           (or buffer-file-name (buffer-name))))))
    (chorus--detach)))
(put 'chorus-mode 'permanent-local t)

(defun chorus--lighter ()
  "The mode line lighter: the buffer's sync status.
A buffer the daemon refused to share says it does not follow the session,
for as long as that lasts (`chorus-reconnect' makes it follow again)."
  (let ((st (and chorus--state (chorus--state-status chorus--state))))
    (pcase st
      ('open " Chorus")
      ('failed " Chorus[not following]")
      ('opening (if (chorus--state-slow chorus--state) " Chorus[opening: daemon busy]" " Chorus[opening]"))
      (_ (format " Chorus[%s]" (or st "off"))))))

(defun chorus--turn-on ()
  "Turn on `chorus-mode' in a file buffer inside a shared project."
  (when (and buffer-file-name (not chorus-mode) (not (minibufferp))
             (chorus--find-root buffer-file-name))
    (chorus-mode 1)))

;;;###autoload
(define-globalized-minor-mode global-chorus-mode chorus-mode chorus--turn-on
  :group 'chorus
  (if global-chorus-mode
      (add-hook 'post-command-hook #'chorus--post-command)
    (remove-hook 'post-command-hook #'chorus--post-command)))

(add-hook 'chorus-mode-hook
          (lambda () (when chorus-mode (add-hook 'post-command-hook #'chorus--post-command))))

;;;; For scripts and tests

(defun chorus-buffer-text (&optional buffer)
  "The text Chorus holds for shared BUFFER (default: current), or nil.
That is the file as written."
  (with-current-buffer (or buffer (current-buffer))
    (and chorus--state (chorus--model-text chorus--state))))

(defun chorus-buffer-status (&optional buffer)
  "A plist describing shared BUFFER's sync state (default: current), or nil.
Keys: :path :status (open when in step) :connection :editor-revision
:daemon-revision
:dropped :pending (changes not yet acknowledged)."
  (with-current-buffer (or buffer (current-buffer))
    (when-let ((s chorus--state))
      (list :path (chorus--state-path s)
            :status (symbol-name (chorus--state-status s))
            :connection (symbol-name (chorus--project-state (chorus--state-project s)))
            :editor-revision (chorus--state-editor-rev s)
            :daemon-revision (chorus--state-daemon-rev s)
            :dropped (chorus--state-dropped s)
            :pending (+ (length (chorus--state-pending s)) (chorus--state-in-flight s))))))

(defun chorus-peer-overlays (&optional buffer)
  "The remote cursor overlays in BUFFER (default: current), for inspection.
Each is (:peer ID :start POS :end POS :face FACE :label NAME-OR-NIL)."
  (with-current-buffer (or buffer (current-buffer))
    (save-restriction
      (widen)
      (cl-loop for ov in (overlays-in (point-min) (point-max))
               when (overlay-get ov 'chorus-peer)
               collect (list :peer (overlay-get ov 'chorus-peer)
                             :start (overlay-start ov) :end (overlay-end ov)
                             :face (or (overlay-get ov 'face)
                                       (let ((s (overlay-get ov 'after-string)))
                                         (and s (get-text-property 0 'face s))))
                             :label (overlay-get ov 'chorus-label))))))

(defun chorus-project-info (&optional buffer)
  "The daemon's initialize answer for BUFFER's project (who we are), or nil."
  (with-current-buffer (or buffer (current-buffer))
    (let ((project (and chorus--state (chorus--state-project chorus--state))))
      (and project (chorus--project-info project)))))

(provide 'chorus)
;;; chorus.el ends here
