; Inno Setup 6 script of EVP Studio's Windows installer.
; Build it with `python packaging\build.py --target windows`: that freezes the app into
; dist\evp-studio\ and compiles this script with every value below passed as /DName=value,
; taken from packaging\app.toml and evp_studio.__version__ (see iss_defines in build.py).
; The installer needs no administrator rights (it offers a per-user install), adds a Start
; menu entry, an optional desktop icon and an optional .evp file association, and its
; uninstaller removes everything it installed. User folders (%LOCALAPPDATA%\EVPStudio:
; models, caches, autosaves, logs) are kept.

#ifndef AppVersion
  #error Compile through packaging/build.py, which defines AppName, AppVersion and the rest.
#endif

[Setup]
AppId={{{#AppGuid}}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\{#GuiExe}
UninstallDisplayName={#AppName} {#AppVersion}
OutputDir={#OutputDir}
OutputBaseFilename={#OutputBase}
SetupIconFile={#SetupIcon}
Compression=lzma2/max
SolidCompression=yes
LZMANumBlockThreads=4
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ChangesAssociations=yes
WizardStyle=modern
MinVersion=10.0

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "associate"; Description: "Open .{#ProjectExt} projects with {#AppName}"; GroupDescription: "File types:"

[Files]
; The whole PyInstaller folder: EVP Studio.exe (windowed), evp-studio.exe (console) and _internal\
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#GuiExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon
; Checks the installation in a console window that stays open (evp-studio.exe --self-test)
Name: "{autoprograms}\{#AppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#ConsoleExe}"" --self-test"; WorkingDir: "{app}"; IconFilename: "{app}\{#GuiExe}"

[Registry]
Root: HKA; Subkey: "Software\Classes\.{#ProjectExt}\OpenWithProgids"; ValueType: string; ValueName: "{#AppId}.project"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#AppId}.project"; ValueType: string; ValueName: ""; ValueData: "{#AppName} project"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#AppId}.project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#AppId}.project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""; Tasks: associate

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
