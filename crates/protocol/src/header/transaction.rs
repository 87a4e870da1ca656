//! Transaction headers: END_TRANSACTION (37, one-way from producers) and
//! CHECK_TRANSACTION_STATE (39, one-way from the broker).

use crate::header::command_header;

command_header! {
    /// END_TRANSACTION request.
    pub struct EndTransactionRequestHeader {
        topic: Option<String> = "topic",
        producer_group: String = "producerGroup",
        /// Queue offset of the half message.
        tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Physical offset of the half message (from its offsetMsgId).
        commit_log_offset: i64 = "commitLogOffset",
        /// 8 commit, 12 rollback, 0 unknown (the sysflag transaction types).
        commit_or_rollback: i32 = "commitOrRollback",
        from_transaction_check: Option<bool> = "fromTransactionCheck",
        /// The UNIQ_KEY.
        msg_id: String = "msgId",
        transaction_id: Option<String> = "transactionId",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE request; the body is the encoded half message.
    pub struct CheckTransactionStateRequestHeader {
        topic: Option<String> = "topic",
        tran_state_table_offset: i64 = "tranStateTableOffset",
        commit_log_offset: i64 = "commitLogOffset",
        /// The UNIQ_KEY.
        msg_id: Option<String> = "msgId",
        transaction_id: Option<String> = "transactionId",
        offset_msg_id: Option<String> = "offsetMsgId",
        broker_name: Option<String> = "bname",
    }
}
