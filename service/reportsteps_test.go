package service

import (
	"slices"
	"testing"
)

// TestReportSteps: the steps offered to each actor in each status are the
// lifecycle table's, narrowed by role, organisation and the extension.
func TestReportSteps(t *testing.T) {
	dept := Org{ID: "dep", Level: LevelDepartment, ParentID: "city", Path: "/350182/d0001/"}
	grid := Org{ID: "grid", Level: LevelGrid, ParentID: "vil", Path: village.Path + "350182100201001/"}
	agent, officer := actorAt(RoleAgent, village), actorAt(RoleTownshipOfficer, township)
	cityOfficer, super := actorAt(RoleCityOfficer, city), actorAt(RoleSupervisor, city)
	inspector, depOfficer := actorAt(RoleGridInspector, grid), actorAt(RoleDepartmentOfficer, dept)
	base := Report{ID: "r1", IntakeOrgID: village.ID, IntakePath: village.Path, GridID: grid.ID, GridPath: grid.Path,
		HolderOrgID: village.ID, HolderPath: village.Path, Version: 2}
	at := func(st ReportStatus, holder Org, ext int) Report {
		r := base
		r.Status, r.ExtensionDays = st, ext
		r.HolderOrgID, r.HolderPath = holder.ID, holder.Path
		if st != ReportRegistered {
			r.DispatcherID, r.DispatcherPath = village.ID, village.Path
		}
		return r
	}
	tests := []struct {
		name string
		a    Actor
		r    Report
		want []ReportAction
	}{
		{"intake village holds a new report", agent, at(ReportRegistered, village, 0), []ReportAction{ReportDispatch, ReportMerge}},
		{"the inspector only reports", inspector, at(ReportRegistered, village, 0), nil},
		{"city officer urges", cityOfficer, at(ReportRegistered, village, 0), []ReportAction{ReportUrge}},
		{"supervisor urges", super, at(ReportHandling, township, 0), []ReportAction{ReportUrge}},
		{"township signs or sends back", officer, at(ReportDispatched, township, 0), []ReportAction{ReportSign, ReportSendBack}},
		{"dispatcher may merge while dispatched", agent, at(ReportDispatched, township, 0), []ReportAction{ReportMerge}},
		{"handler answers, re-dispatches, asks for time", officer, at(ReportHandling, township, 0), []ReportAction{ReportDispatch, ReportAnswer, ReportExtend}},
		{"one extension at a time", officer, at(ReportHandling, township, 3), []ReportAction{ReportDispatch, ReportAnswer}},
		{"dispatcher decides a pending extension", agent, at(ReportHandling, township, 3), []ReportAction{ReportMerge, ReportApprove, ReportDeny}},
		{"no extension to decide", agent, at(ReportHandling, township, 0), []ReportAction{ReportMerge}},
		{"dispatcher reviews the answer", agent, at(ReportAnswered, township, 0), []ReportAction{ReportAccept, ReportReject}},
		{"dispatcher follows up", agent, at(ReportFollowUp, township, 0), []ReportAction{ReportClose}},
		{"closed: nothing", agent, at(ReportClosed, township, 0), nil},
		{"closed: no urging either", cityOfficer, at(ReportClosed, township, 0), nil},
		{"a department not holding it", depOfficer, at(ReportHandling, township, 0), nil},
		{"a department holding it", depOfficer, at(ReportDispatched, dept, 0), []ReportAction{ReportSign, ReportSendBack}},
		{"out of sight: nothing", actorAt(RoleAgent, other), at(ReportRegistered, village, 0), nil},
	}
	for _, tt := range tests {
		if got := tt.a.ReportSteps(tt.r); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
